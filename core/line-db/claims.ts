import type pg from 'pg';
import { LINE_SCHEMA } from './schema';

/**
 * Who is provisioning a device ID right now, decided by the line database: the claim row's
 * primary key is the device ID, so of two stations that read one ID at the same moment
 * (duplicate serials) exactly one INSERT wins; the other sees the winner. A claim is a lease,
 * so a station that died holding one frees the ID when the lease ends. The same station may
 * take its own claim over (a retry of the device; two of its own slots are told apart locally).
 */
export interface DeviceClaim {
  readonly deviceId: string;
  readonly stationId: string;
  readonly stationName: string;
  /** `<station id>:<attempt id>`: only the attempt that claimed may release. */
  readonly attemptKey: string;
  readonly lot: string;
  readonly leaseMs: number;
}

export interface ClaimHolder {
  readonly stationId: string;
  readonly station: string;
  readonly since: string;
  readonly lot: string | null;
}

/**
 * Longer than the longest attempt: every step of a flash-on-line attempt at its default timeout
 * adds up to about 31 minutes (normal-mode updates alone may take 15). A lease that ended
 * mid-attempt would let a second station take a device ID that is still being provisioned.
 */
export const DEFAULT_CLAIM_LEASE_MS = 45 * 60_000;

const S = LINE_SCHEMA;

export const claimDevice = async (
  client: pg.ClientBase,
  c: DeviceClaim,
): Promise<{ readonly ok: true } | { readonly ok: false; readonly holder: ClaimHolder }> => {
  // The holder may release between our refused INSERT and the SELECT: then simply try again.
  for (let tries = 0; tries < 3; tries++) {
    const won = await client.query(
      `INSERT INTO ${S}.device_claims AS c (device_id, station_id, station_name, attempt_key, lot, claimed_at, lease_until)
         VALUES ($1, $2::uuid, $3, $4, $5, now(), now() + $6 * interval '1 millisecond')
       ON CONFLICT (device_id) DO UPDATE SET station_id = excluded.station_id, station_name = excluded.station_name,
         attempt_key = excluded.attempt_key, lot = excluded.lot, claimed_at = excluded.claimed_at,
         lease_until = excluded.lease_until
       WHERE c.lease_until < now() OR c.station_id = excluded.station_id
       RETURNING device_id`,
      [c.deviceId, c.stationId, c.stationName, c.attemptKey, c.lot, c.leaseMs],
    );
    if (won.rowCount === 1) return { ok: true };
    const held = await client.query<{
      station_id: string;
      station_name: string;
      claimed_at: Date;
      lot: string | null;
    }>(
      `SELECT station_id::text, station_name, claimed_at, lot FROM ${S}.device_claims WHERE device_id = $1`,
      [c.deviceId],
    );
    const h = held.rows[0];
    if (h)
      return {
        ok: false,
        holder: {
          stationId: h.station_id,
          station: h.station_name,
          since: new Date(h.claimed_at).toISOString(),
          lot: h.lot,
        },
      };
  }
  throw new Error(`The claim on ${c.deviceId} kept changing hands; it could not be settled.`);
};

/** Gives the ID back, if this attempt still holds it. */
export const releaseClaim = async (
  client: pg.ClientBase,
  deviceId: string,
  attemptKey: string,
): Promise<void> => {
  await client.query(`DELETE FROM ${S}.device_claims WHERE device_id = $1 AND attempt_key = $2`, [
    deviceId,
    attemptKey,
  ]);
};

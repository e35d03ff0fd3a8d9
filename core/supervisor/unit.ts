import type pg from 'pg';
import { LINE_SCHEMA } from '../line-db/schema';
import { iso } from './queries';
import type { UnitAttempt, UnitHistoryView, UnitRegistration } from './types';

const S = LINE_SCHEMA;

/** A unit's history is shown whole up to this many attempts (the newest are kept). */
export const UNIT_ATTEMPT_LIMIT = 500;

const DEVICE_ID = /^[0-9a-f]{24}$/i;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * A unit's whole history across the line, looked up by device ID, printed label serial, the
 * device's serial number or its ICCID: every attempt at every station (oldest first), its
 * registrations and a claim held right now. Every lookup is an index read.
 */
export const lookupUnit = async (client: pg.ClientBase, query: string): Promise<UnitHistoryView> => {
  const q = query.trim();
  const empty: UnitHistoryView = {
    query: q,
    matchedBy: null,
    deviceIds: [],
    attempts: [],
    registrations: [],
    claim: null,
  };
  if (q === '' || q.length > 200) return empty;
  let matchedBy: UnitHistoryView['matchedBy'] = null;
  let ids: string[] = [];
  if (DEVICE_ID.test(q)) {
    const id = q.toLowerCase();
    const seen = await client.query(`SELECT 1 FROM ${S}.attempts WHERE device_id = $1 LIMIT 1`, [id]);
    if (seen.rows.length > 0) {
      matchedBy = 'device';
      ids = [id];
    }
  }
  if (!matchedBy) {
    // One BitmapOr over three partial indexes (line-5-supervisor, line-4-identity).
    const byKey = await client.query<{ device_id: string; how: 'label' | 'serial' | 'iccid' }>(
      `SELECT DISTINCT device_id,
              CASE WHEN label_serial = $1 THEN 'label' WHEN serial_number = $1 THEN 'serial' ELSE 'iccid' END AS how
         FROM ${S}.attempts
        WHERE (label_serial = $1 OR serial_number = $1 OR iccid = $1) AND device_id IS NOT NULL`,
      [q],
    );
    const order = ['label', 'serial', 'iccid'] as const;
    matchedBy = order.find((h) => byKey.rows.some((r) => r.how === h)) ?? null;
    ids = [...new Set(byKey.rows.filter((r) => r.how === matchedBy).map((r) => r.device_id))].sort();
  }
  if (!matchedBy) return empty;

  const attempts = await client.query(
    `SELECT * FROM (
       SELECT a.station_id::text AS station_id, coalesce(s.name, a.station) AS station_name, a.attempt_id, a.lot,
              a.device_id, a.label_serial, a.serial_number, a.slot, a.try_number, a.operator, a.result, a.step, a.error_code,
              a.error_message, a.started_at, a.finished_at, a.duration_ms, a.registration_state, a.line_check
         FROM ${S}.attempts a LEFT JOIN ${S}.stations s USING (station_id)
        WHERE a.device_id = ANY($1::text[])
        ORDER BY a.started_at DESC, a.station_id, a.attempt_id DESC LIMIT ${UNIT_ATTEMPT_LIMIT}) x
      ORDER BY started_at, station_id, attempt_id`,
    [ids],
  );
  const regs = await client.query(
    `SELECT r.station_id::text AS station_id, coalesce(s.name, '') AS station_name, r.product_id, r.action, r.state,
            r.outcome, r.done_at
       FROM ${S}.registrations r LEFT JOIN ${S}.stations s USING (station_id)
      WHERE r.device_id = ANY($1::text[]) ORDER BY r.created_at, r.station_id, r.registration_id`,
    [ids],
  );
  const claim = await client.query(
    `SELECT station_name, claimed_at, lot FROM ${S}.device_claims
      WHERE device_id = ANY($1::text[]) AND lease_until > now() LIMIT 1`,
    [ids],
  );
  const c = claim.rows[0];
  return {
    query: q,
    matchedBy,
    deviceIds: ids,
    attempts: attempts.rows.map(
      (r): UnitAttempt => ({
        stationId: String(r.station_id),
        station: String(r.station_name ?? ''),
        attemptId: Number(r.attempt_id),
        lot: String(r.lot),
        deviceId: text(r.device_id),
        labelSerial: text(r.label_serial),
        serialNumber: text(r.serial_number),
        slot: num(r.slot),
        tryNumber: num(r.try_number),
        operator: text(r.operator),
        result: String(r.result),
        step: text(r.step),
        errorCode: text(r.error_code),
        errorMessage: text(r.error_message),
        startedAt: iso(r.started_at),
        finishedAt: iso(r.finished_at),
        durationMs: num(r.duration_ms),
        registrationState: text(r.registration_state),
        lineCheck: text(r.line_check),
      }),
    ),
    registrations: regs.rows.map(
      (r): UnitRegistration => ({
        stationId: String(r.station_id),
        station: String(r.station_name),
        productId: String(r.product_id),
        action: String(r.action),
        state: String(r.state),
        outcome: text(r.outcome),
        doneAt: iso(r.done_at),
      }),
    ),
    claim: c ? { station: String(c.station_name), since: iso(c.claimed_at) ?? '', lot: text(c.lot) } : null,
  };
};

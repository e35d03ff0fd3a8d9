import pg from 'pg';
import { err, ok, type Result } from '../errors/result';
import type { LineDbTarget } from './config';
import { diagnoseConnectFailure } from './connection';
import { classifyLineError, type LineDbErrorCode } from './errors';
import { appliedLineMigrations, LINE_SCHEMA } from './schema';

/** What the line database holds about one station: its row, and the others that share its name. */
export interface LineStationView {
  readonly stationId: string;
  readonly name: string;
  readonly forwardedSeq: number;
  readonly behind: number;
  readonly lastSeenAt: string;
  readonly clockSkewMs: number | null;
  readonly attempts: number;
  readonly sameName: readonly { stationId: string; lastSeenAt: string }[];
}

/** Reads a station's row from the line database (undefined: it has never forwarded there). */
export const lineStationView = async (
  target: LineDbTarget,
  stationId: string,
  timeoutMs = 5000,
): Promise<Result<LineStationView | undefined, LineDbErrorCode>> => {
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'linestation line status',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return { ok: false, error: await diagnoseConnectFailure(e, target.url) };
  }
  try {
    if ((await appliedLineMigrations(client)).length === 0) return ok(undefined);
    const r = await client.query<{
      name: string;
      forwarded_seq: string;
      behind: string;
      last_seen_at: Date;
      clock_skew_ms: string | null;
      attempts: string;
    }>(
      `SELECT s.name, s.forwarded_seq, s.behind, s.last_seen_at, s.clock_skew_ms,
              (SELECT count(*) FROM ${LINE_SCHEMA}.attempts a WHERE a.station_id = s.station_id) AS attempts
         FROM ${LINE_SCHEMA}.stations s WHERE s.station_id = $1::uuid`,
      [stationId],
    );
    const row = r.rows[0];
    if (!row) return ok(undefined);
    const others = await client.query<{ station_id: string; last_seen_at: Date }>(
      `SELECT station_id::text, last_seen_at FROM ${LINE_SCHEMA}.stations WHERE name = $1 AND station_id <> $2::uuid`,
      [row.name, stationId],
    );
    return ok({
      stationId,
      name: row.name,
      forwardedSeq: Number(row.forwarded_seq),
      behind: Number(row.behind),
      lastSeenAt: new Date(row.last_seen_at).toISOString(),
      clockSkewMs: row.clock_skew_ms === null ? null : Number(row.clock_skew_ms),
      attempts: Number(row.attempts),
      sameName: others.rows.map((o) => ({
        stationId: o.station_id,
        lastSeenAt: new Date(o.last_seen_at).toISOString(),
      })),
    });
  } catch (e) {
    const named = classifyLineError(e, target.url);
    return err(named.code, named.message, named.remedy ? { remedy: named.remedy } : {});
  } finally {
    await client.end().catch(() => undefined);
  }
};

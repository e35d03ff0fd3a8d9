import type pg from 'pg';
import { LINE_SCHEMA } from './schema';

/** What the line knows about one device ID from the other stations. */
export interface UnitHistory {
  /** Its PASS at another station in this lot (the newest), if any. */
  readonly passedInLot:
    | { readonly stationId: string; readonly station: string; readonly at: string }
    | undefined;
  /** FAIL attempts at other stations, any lot. */
  readonly failureCount: number;
  /** The newest of them, newest first (at most 3). */
  readonly failures: readonly {
    readonly stationId: string;
    readonly station: string;
    readonly code: string | null;
    readonly message: string | null;
    readonly at: string | null;
    readonly lot: string;
  }[];
  /** Imported into this product by another station (acknowledged by the cloud), if so. */
  readonly registered:
    | { readonly stationId: string; readonly station: string; readonly at: string | null }
    | undefined;
}

export interface HistoryQuery {
  readonly deviceId: string;
  readonly lot: string;
  readonly productId: string;
  /** The asking station: its own rows are not "elsewhere" (it knows them locally). */
  readonly stationId: string;
}

const S = LINE_SCHEMA;

// One round trip; every branch is an index lookup on attempts (device_id, started_at) or
// registrations (device_id, product_id), so it stays fast with millions of attempts.
const HISTORY_SQL = `
  SELECT
    (SELECT json_build_object('stationId', a.station_id, 'station', s.name, 'at', a.finished_at)
       FROM ${S}.attempts a JOIN ${S}.stations s USING (station_id)
      WHERE a.device_id = $1 AND a.lot = $2 AND a.result = 'pass' AND a.station_id <> $4::uuid
      ORDER BY a.started_at DESC LIMIT 1) AS passed,
    (SELECT count(*) FROM ${S}.attempts a
      WHERE a.device_id = $1 AND a.result = 'fail' AND a.station_id <> $4::uuid) AS failure_count,
    (SELECT coalesce(json_agg(f), '[]'::json) FROM (
       SELECT a.station_id AS "stationId", s.name AS station, a.error_code AS code, a.error_message AS message,
              a.finished_at AS at, a.lot
         FROM ${S}.attempts a JOIN ${S}.stations s USING (station_id)
        WHERE a.device_id = $1 AND a.result = 'fail' AND a.station_id <> $4::uuid
        ORDER BY a.started_at DESC LIMIT 3) f) AS failures,
    (SELECT json_build_object('stationId', r.station_id, 'station', s.name, 'at', r.done_at)
       FROM ${S}.registrations r JOIN ${S}.stations s USING (station_id)
      WHERE r.device_id = $1 AND r.product_id = $3 AND r.action = 'import' AND r.state = 'done'
        AND r.station_id <> $4::uuid
      LIMIT 1) AS registered`;

interface HistoryRow {
  passed: { stationId: string; station: string; at: string } | null;
  failure_count: string;
  failures: UnitHistory['failures'];
  registered: { stationId: string; station: string; at: string | null } | null;
}

/** Times as the line database returns them in JSON (timestamptz text) → ISO 8601 UTC. */
const isoOf = (t: string | null): string | null => (t === null ? null : new Date(t).toISOString());

export const lookupUnitHistory = async (client: pg.ClientBase, q: HistoryQuery): Promise<UnitHistory> => {
  const r = await client.query<HistoryRow>(HISTORY_SQL, [q.deviceId, q.lot, q.productId, q.stationId]);
  const row = r.rows[0];
  return {
    passedInLot: row?.passed ? { ...row.passed, at: isoOf(row.passed.at) ?? '' } : undefined,
    failureCount: Number(row?.failure_count ?? 0),
    failures: (row?.failures ?? []).map((f) => ({ ...f, at: isoOf(f.at) })),
    registered: row?.registered ? { ...row.registered, at: isoOf(row.registered.at) } : undefined,
  };
};

import type pg from 'pg';
import { LINE_SCHEMA } from '../line-db/schema';
import { STEP_COLUMN, STEPS } from '../store/records';
import { bucketSql, type Histogram } from './histogram';
import type { StationState } from './types';

/*
 * The supervisor's reads, all in SQL so a million attempts never travel to Node: each returns a
 * few rows per (lot, station, operator), the grain from which every view is summed (model.ts).
 * Every query takes the same scope: the lots named, or all of them (the first load, a reload).
 */

const S = LINE_SCHEMA;

/** Counts for one slice of attempts. */
export interface Counts {
  attempts: number;
  passed: number;
  failed: number;
  interrupted: number;
  skipped: number;
  running: number;
}

/** Distinct units (a device in a lot) and the time span of one slice. */
export interface Distinct {
  units: number;
  unitsPassed: number;
  /** Epoch ms of the first start and last end. */
  first: number;
  last: number;
}

/** The grain: one lot at one station with one operator. Everything here adds up across grains. */
export interface Grain {
  readonly lot: string;
  readonly stationId: string;
  readonly operator: string;
  counts: Counts;
  firstUnits: number;
  firstPassed: number;
  readonly pareto: Map<string, number>;
  readonly steps: Map<string, { hist: Histogram; max: number }>;
}

/** One lot as loaded: its grains and its distinct counts per lot, per station and per operator. */
export interface LotPart {
  readonly lot: string;
  readonly whole: Distinct;
  readonly byStation: Map<string, Distinct>;
  readonly byOperator: Map<string, Distinct>;
  readonly grains: Map<string, Grain>;
}

const grainKey = (stationId: string, operator: string) => `${stationId}\u0000${operator}`;

const scope = (lots: readonly string[] | undefined, alias = 'a'): { where: string; params: unknown[] } =>
  lots === undefined
    ? { where: 'true', params: [] }
    : { where: `${alias}.lot = ANY($1::text[])`, params: [lots] };

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Is there a line schema at all? (No station has forwarded yet: the view is empty, not broken.) */
export const hasLineSchema = async (client: pg.ClientBase): Promise<boolean> => {
  const r = await client.query<{ t: string | null }>(`SELECT to_regclass('${S}.attempts')::text AS t`);
  return Boolean(r.rows[0]?.t);
};

/*
 * Grouping is by the stored columns (the uuid, not its text): hashing 16 bytes instead of a
 * 36-character string halved the step histogram's time on a 50,000-attempt lot.
 */

/**
 * Loads the lots in scope from the line database. Run it inside read-only REPEATABLE READ
 * transactions that share one snapshot (readLine) so the reads agree with each other.
 */
export const loadLots = async (
  clients: readonly pg.ClientBase[],
  lots: readonly string[] | undefined,
): Promise<Map<string, LotPart>> => {
  const out = new Map<string, LotPart>();
  const part = (lot: string): LotPart => {
    let p = out.get(lot);
    if (!p) {
      p = {
        lot,
        whole: { units: 0, unitsPassed: 0, first: 0, last: 0 },
        byStation: new Map(),
        byOperator: new Map(),
        grains: new Map(),
      };
      out.set(lot, p);
    }
    return p;
  };
  const grain = (lot: string, stationId: string, operator: string): Grain => {
    const p = part(lot);
    const k = grainKey(stationId, operator);
    let g = p.grains.get(k);
    if (!g) {
      g = {
        lot,
        stationId,
        operator,
        counts: { attempts: 0, passed: 0, failed: 0, interrupted: 0, skipped: 0, running: 0 },
        firstUnits: 0,
        firstPassed: 0,
        pareto: new Map(),
        steps: new Map(),
      };
      p.grains.set(k, g);
    }
    return g;
  };
  const sc = scope(lots);

  // The five reads go out at once, one per connection given (they share one snapshot, see
  // readLine); with a single connection they simply queue.
  const on = (i: number): pg.ClientBase => clients[i % clients.length] ?? (clients[0] as pg.ClientBase);
  const values = STEPS.map((s) => `('${s}', a.${STEP_COLUMN[s]})`).join(', ');
  const countedRead = on(0).query(
    `SELECT a.lot, a.station_id::text AS station_id, coalesce(a.operator, '') AS op,
            count(*) AS attempts,
            count(*) FILTER (WHERE a.result = 'pass') AS passed,
            count(*) FILTER (WHERE a.result = 'fail') AS failed,
            count(*) FILTER (WHERE a.result = 'interrupted') AS interrupted,
            count(*) FILTER (WHERE a.result = 'skipped') AS skipped,
            count(*) FILTER (WHERE a.result = 'running') AS running,
            (extract(epoch FROM min(a.started_at)) * 1000)::float8 AS first_ms,
            (extract(epoch FROM max(coalesce(a.finished_at, a.started_at))) * 1000)::float8 AS last_ms
       FROM ${S}.attempts a WHERE ${sc.where}
      GROUP BY a.lot, a.station_id, coalesce(a.operator, '')`,
    sc.params,
  );
  const unitsRead = on(1).query(
    `WITH d AS MATERIALIZED (
       SELECT a.lot, a.station_id, coalesce(a.operator, '') AS op, a.device_id, bool_or(a.result = 'pass') AS p
         FROM ${S}.attempts a WHERE a.device_id IS NOT NULL AND ${sc.where}
        GROUP BY a.lot, a.station_id, coalesce(a.operator, ''), a.device_id)
     SELECT 1 AS level, lot, station_id::text AS k, count(*) AS units, count(*) FILTER (WHERE p) AS units_passed
       FROM (SELECT lot, station_id, device_id, bool_or(p) AS p FROM d GROUP BY lot, station_id, device_id) x
      GROUP BY lot, station_id
     UNION ALL
     SELECT 2, lot, op, count(*), count(*) FILTER (WHERE p)
       FROM (SELECT lot, op, device_id, bool_or(p) AS p FROM d GROUP BY lot, op, device_id) x
      GROUP BY lot, op
     UNION ALL
     SELECT 3, lot, '', count(*), count(*) FILTER (WHERE p)
       FROM (SELECT lot, device_id, bool_or(p) AS p FROM d GROUP BY lot, device_id) x
      GROUP BY lot`,
    sc.params,
  );
  const firstsRead = on(2).query(
    `SELECT lot, station_id::text AS station_id, op,
            count(*) FILTER (WHERE result <> 'running') AS first_units,
            count(*) FILTER (WHERE result = 'pass') AS first_passed
       FROM (SELECT DISTINCT ON (a.lot, a.device_id) a.lot, a.station_id, coalesce(a.operator, '') AS op, a.result
               FROM ${S}.attempts a
              WHERE a.device_id IS NOT NULL AND ${sc.where}
              ORDER BY a.lot, a.device_id, a.started_at, a.station_id, a.attempt_id) f
      GROUP BY lot, station_id, op`,
    sc.params,
  );
  const paretoRead = on(0).query(
    `SELECT a.lot, a.station_id::text AS station_id, coalesce(a.operator, '') AS op,
            coalesce(a.error_code, 'UNKNOWN') AS code, count(*) AS n
       FROM ${S}.attempts a WHERE a.result = 'fail' AND ${sc.where}
      GROUP BY a.lot, a.station_id, coalesce(a.operator, ''), coalesce(a.error_code, 'UNKNOWN')`,
    sc.params,
  );
  const stepsRead = on(3).query(
    `SELECT a.lot, a.station_id::text AS station_id, coalesce(a.operator, '') AS op, s.step,
            ${bucketSql('s.ms')} AS b, count(*) AS n, max(s.ms) AS mx
       FROM ${S}.attempts a CROSS JOIN LATERAL (VALUES ${values}) AS s(step, ms)
      WHERE s.ms IS NOT NULL AND ${sc.where}
      GROUP BY a.lot, a.station_id, coalesce(a.operator, ''), s.step, 5`,
    sc.params,
  );

  // Counts and times per grain: one hash aggregate.
  // All at once, so a failing read never goes unobserved while another is awaited.
  const [counted, units, firsts, pareto, steps] = await Promise.all([
    countedRead,
    unitsRead,
    firstsRead,
    paretoRead,
    stepsRead,
  ]);
  const spans = new Map<Grain, { first: number; last: number }>();
  for (const r of counted.rows) {
    const g = grain(String(r.lot), String(r.station_id), String(r.op));
    g.counts = {
      attempts: num(r.attempts),
      passed: num(r.passed),
      failed: num(r.failed),
      interrupted: num(r.interrupted),
      skipped: num(r.skipped),
      running: num(r.running),
    };
    spans.set(g, { first: num(r.first_ms), last: num(r.last_ms) });
  }
  // A lot's, a station's and an operator's span in the lot: the widest of their grains.
  const widen = (map: Map<string, Distinct>, key: string, span: { first: number; last: number }) => {
    const d = map.get(key) ?? { units: 0, unitsPassed: 0, first: span.first, last: span.last };
    d.first = Math.min(d.first, span.first);
    d.last = Math.max(d.last, span.last);
    map.set(key, d);
  };
  for (const [g, span] of spans) {
    const p = part(g.lot);
    const w = p.whole;
    if (w.first === 0 || span.first < w.first) w.first = span.first;
    w.last = Math.max(w.last, span.last);
    widen(p.byStation, g.stationId, span);
    widen(p.byOperator, g.operator, span);
  }

  // Distinct units per lot, per lot and station, per lot and operator: each unit once per level,
  // through hash aggregates over one row per (grain, device) — no sort of the lot's attempts.
  for (const r of units.rows) {
    const p = part(String(r.lot));
    const level = num(r.level);
    const d =
      level === 3
        ? p.whole
        : ((level === 1 ? p.byStation : p.byOperator).get(String(r.k)) ?? {
            units: 0,
            unitsPassed: 0,
            first: 0,
            last: 0,
          });
    d.units = num(r.units);
    d.unitsPassed = num(r.units_passed);
    if (level === 1) p.byStation.set(String(r.k), d);
    else if (level === 2) p.byOperator.set(String(r.k), d);
  }

  // First-pass yield across retests and stations: each unit's first attempt in its lot, by time
  // and then by the station's own sequence, is credited to the grain where it happened. A first
  // attempt still running has no verdict yet and is left out until it ends.
  for (const r of firsts.rows) {
    const g = grain(String(r.lot), String(r.station_id), String(r.op));
    g.firstUnits = num(r.first_units);
    g.firstPassed = num(r.first_passed);
  }

  for (const r of pareto.rows)
    grain(String(r.lot), String(r.station_id), String(r.op)).pareto.set(String(r.code), num(r.n));

  for (const r of steps.rows) {
    const g = grain(String(r.lot), String(r.station_id), String(r.op));
    const step = String(r.step);
    let h = g.steps.get(step);
    if (!h) {
      h = { hist: new Map(), max: 0 };
      g.steps.set(step, h);
    }
    const b = num(r.b);
    h.hist.set(b, (h.hist.get(b) ?? 0) + num(r.n));
    h.max = Math.max(h.max, num(r.mx));
  }
  return out;
};

/**
 * Lots a station changed lately, for a notice whose lot list was cut at 20: `forwarded_at` is the
 * database's clock at the forwarder's transaction, indexed for this.
 */
export const recentLotsOf = async (client: pg.ClientBase, stationId: string): Promise<string[]> => {
  const r = await client.query<{ lot: string }>(
    `SELECT DISTINCT lot FROM ${S}.attempts WHERE forwarded_at > now() - interval '5 minutes' AND station_id = $1::uuid
     UNION SELECT DISTINCT lot FROM ${S}.batches WHERE forwarded_at > now() - interval '5 minutes' AND station_id = $1::uuid`,
    [stationId],
  );
  return r.rows.map((x) => x.lot);
};

/** A timestamptz as pg returns it (a Date) → ISO 8601 UTC. */
export const iso = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString()
      : new Date(String(v)).toISOString();

/**
 * Every station with what it runs now: its newest running batch (else its newest batch) and the
 * attempts of that batch still running (its busy slots). Small: one row per station.
 */
export const loadStations = async (client: pg.ClientBase): Promise<StationState[]> => {
  const r = await client.query(
    `SELECT s.station_id::text AS station_id, s.name, s.hostname, s.app_version, s.last_seen_at,
            extract(epoch FROM (now() - s.last_seen_at))::float8 AS ago, s.behind, s.forwarded_seq, s.clock_skew_ms,
            b.lot, b.state, b.operator,
            CASE WHEN b.state = 'running' THEN (
              SELECT count(*) FROM ${S}.attempts a
               WHERE a.lot = b.lot AND a.result = 'running' AND a.station_id = s.station_id AND a.batch_id = b.batch_id)
            ELSE 0 END AS busy
       FROM ${S}.stations s
       LEFT JOIN LATERAL (
         SELECT x.lot, x.state, x.operator, x.batch_id FROM ${S}.batches x
          WHERE x.station_id = s.station_id
          ORDER BY (x.state = 'running') DESC, x.started_at DESC NULLS LAST, x.batch_id DESC LIMIT 1) b ON true
      ORDER BY s.name, s.station_id`,
  );
  return r.rows.map((x) => {
    const running = x.state === 'running';
    return {
      stationId: String(x.station_id),
      name: String(x.name),
      hostname: x.hostname ?? null,
      appVersion: x.app_version ?? null,
      lastSeenAt: iso(x.last_seen_at) ?? '',
      lastSeenAgoS: Math.max(0, Math.round(num(x.ago))),
      behind: num(x.behind),
      forwardedSeq: num(x.forwarded_seq),
      clockSkewMs: x.clock_skew_ms === null ? null : num(x.clock_skew_ms),
      runningLot: running ? String(x.lot) : null,
      lastLot: x.lot ?? null,
      lastBatchState: x.state ?? null,
      operator: x.operator ?? null,
      slotsBusy: running ? num(x.busy) : 0,
    };
  });
};

import type { SQLInputValue } from 'node:sqlite';
import { STEP_COLUMN, STEPS, type StepName } from './records';
import type { StationLog } from './station-log';

export interface ParetoEntry {
  readonly code: string;
  readonly count: number;
  readonly percent: number;
  /** Running total, so the chart's "vital few" line can be drawn straight from this. */
  readonly cumulativePercent: number;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface BatchStats {
  readonly lot: string;
  readonly attempts: number;
  readonly passed: number;
  readonly failed: number;
  readonly interrupted: number;
  /** Devices already provisioned in this batch and not re-flashed. */
  readonly skipped: number;
  readonly running: number;
  /** Distinct device IDs seen by identify. */
  readonly devices: number;
  /** Distinct devices with at least one PASS. */
  readonly devicesPassed: number;
  /** devicesPassed / devices (0 when no device was seen). */
  readonly yield: number;
  /** Devices that passed on their first attempt / devices. */
  readonly firstPassYield: number;
  /** Devices passed per hour of batch time (first attempt start to last attempt end). */
  readonly devicesPerHour: number;
  readonly pareto: readonly ParetoEntry[];
  readonly stepMs: Readonly<Partial<Record<StepName, Percentiles>>>;
}

/** Nearest-rank percentile over a sorted array. */
export const percentile = (sorted: readonly number[], p: number): number => {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
};

const percentiles = (sorted: readonly number[]): Percentiles => ({
  count: sorted.length,
  p50: percentile(sorted, 50),
  p90: percentile(sorted, 90),
  p95: percentile(sorted, 95),
  p99: percentile(sorted, 99),
  max: sorted[sorted.length - 1] ?? 0,
});

type Row = Record<string, SQLInputValue>;

/** Statistics for one batch, computed in SQL so they stay cheap on large batches. */
export const batchStats = (log: StationLog, lot: string): BatchStats => {
  const batch = log.requireBatch(lot);
  const db = log.db;
  const counts = db
    .prepare(
      `SELECT COUNT(*) AS attempts,
         SUM(result = 'pass') AS passed, SUM(result = 'fail') AS failed,
         SUM(result = 'interrupted') AS interrupted, SUM(result = 'skipped') AS skipped, SUM(result = 'running') AS running,
         COUNT(DISTINCT device_id) AS devices,
         COUNT(DISTINCT CASE WHEN result = 'pass' THEN device_id END) AS devices_passed,
         MIN(started_at) AS first_start, MAX(COALESCE(finished_at, started_at)) AS last_end
       FROM attempts WHERE batch_id = ?`,
    )
    .get(batch.id) as Row;
  const firstPass = db
    .prepare(
      `SELECT COUNT(DISTINCT device_id) AS n FROM attempts
       WHERE batch_id = ? AND result = 'pass' AND try_number = 1`,
    )
    .get(batch.id) as Row;
  const devices = Number(counts.devices ?? 0);
  const devicesPassed = Number(counts.devices_passed ?? 0);
  const spanMs =
    typeof counts.first_start === 'string' && typeof counts.last_end === 'string'
      ? Date.parse(counts.last_end) - Date.parse(counts.first_start)
      : 0;

  const failures = db
    .prepare(
      `SELECT error_code AS code, COUNT(*) AS n FROM attempts
       WHERE batch_id = ? AND result = 'fail' GROUP BY error_code ORDER BY n DESC, code`,
    )
    .all(batch.id) as Row[];
  const totalFailures = failures.reduce((s, r) => s + Number(r.n), 0);
  let cumulative = 0;
  const pareto = failures.map((r) => {
    const count = Number(r.n);
    cumulative += count;
    return {
      code: String(r.code ?? 'UNKNOWN'),
      count,
      percent: (100 * count) / totalFailures,
      cumulativePercent: (100 * cumulative) / totalFailures,
    };
  });

  const stepMs: Partial<Record<StepName, Percentiles>> = {};
  for (const step of STEPS) {
    const col = STEP_COLUMN[step];
    const values = (
      db
        .prepare(`SELECT ${col} AS v FROM attempts WHERE batch_id = ? AND ${col} IS NOT NULL ORDER BY ${col}`)
        .all(batch.id) as Row[]
    ).map((r) => Number(r.v));
    if (values.length > 0) stepMs[step] = percentiles(values);
  }

  return {
    lot,
    attempts: Number(counts.attempts ?? 0),
    passed: Number(counts.passed ?? 0),
    failed: Number(counts.failed ?? 0),
    interrupted: Number(counts.interrupted ?? 0),
    skipped: Number(counts.skipped ?? 0),
    running: Number(counts.running ?? 0),
    devices,
    devicesPassed,
    yield: devices === 0 ? 0 : devicesPassed / devices,
    firstPassYield: devices === 0 ? 0 : Number(firstPass.n ?? 0) / devices,
    devicesPerHour: spanMs > 0 ? devicesPassed / (spanMs / 3_600_000) : 0,
    pareto,
    stepMs,
  };
};

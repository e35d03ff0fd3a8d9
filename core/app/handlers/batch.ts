import type { SQLInputValue } from 'node:sqlite';
import type { AttemptRow, BatchReport } from '../../contract/station';
import { err, ok, type Result, toLsError } from '../../errors/result';
import { exportToFile, LABEL_STATE_SQL, writeExport } from '../../store/export';
import { registrationState } from '../../store/outbox';
import type { AttemptRecord } from '../../store/records';
import { type StationLog, toAttempt } from '../../store/station-log';
import { batchStats } from '../../store/stats';
import type { HandlerContext, Handlers } from '../context';
import { batchSummary } from '../line';

type Row = Record<string, SQLInputValue>;

/** Store calls throw LsFailure (BATCH_NOT_FOUND, STORE_*); the contract wants a value. */
const guarded = async <T>(fn: () => T | Promise<T>): Promise<Result<T>> => {
  try {
    return ok(await fn());
  } catch (e) {
    return { ok: false, error: toLsError(e) };
  }
};

const LABEL_STATES = new Set(['pending', 'printed', 'failed']);
const VERIFIED = new Set(['verified', 'mismatch']);

/** The attempt's label, from the row's label_state (joined) and label_verified columns. */
const labelOf = (r: Row): Pick<AttemptRow, 'labelState' | 'labelVerified'> => ({
  ...(LABEL_STATES.has(String(r.label_state))
    ? { labelState: r.label_state as AttemptRow['labelState'] }
    : {}),
  ...(VERIFIED.has(String(r.label_verified))
    ? { labelVerified: r.label_verified as AttemptRow['labelVerified'] }
    : {}),
});

const attemptRow = (a: AttemptRecord): AttemptRow => ({
  id: a.id,
  deviceId: a.deviceId,
  slot: a.slot,
  portPath: a.portPath,
  labelSerial: a.labelSerial,
  tryNumber: a.tryNumber,
  result: a.result,
  step: a.step,
  errorCode: a.errorCode,
  errorMessage: a.errorMessage,
  startedAt: a.startedAt,
  finishedAt: a.finishedAt,
  durationMs: a.durationMs,
  registrationState: a.registrationState,
  serialNumber: a.serialNumber,
  iccid: a.iccid,
  imei: a.imei,
  deviceOs: a.deviceOs,
});

const MAX_POINTS = 500;

/** Cumulative yield (devices passed / devices seen) after each finished attempt, down-sampled. */
export const yieldSeries = (log: StationLog, batchId: number): BatchReport['yieldSeries'] => {
  const seen = new Set<string>();
  const passed = new Set<string>();
  const t: number[] = [];
  const y: number[] = [];
  const rows = log.db
    .prepare(
      `SELECT device_id, result, finished_at FROM attempts
       WHERE batch_id = ? AND finished_at IS NOT NULL AND device_id IS NOT NULL ORDER BY finished_at, id`,
    )
    .iterate(batchId);
  for (const r of rows as Iterable<Row>) {
    const id = String(r.device_id);
    seen.add(id);
    if (r.result === 'pass') passed.add(id);
    t.push(Date.parse(String(r.finished_at)) / 1000);
    y.push((100 * passed.size) / seen.size);
  }
  if (t.length <= MAX_POINTS) return { t, yieldPct: y };
  const step = t.length / MAX_POINTS;
  const ti: number[] = [];
  const yi: number[] = [];
  for (let i = 0; i < MAX_POINTS; i++) {
    const k = Math.min(t.length - 1, Math.floor(i * step));
    ti.push(t[k] ?? 0);
    yi.push(y[k] ?? 0);
  }
  ti.push(t[t.length - 1] ?? 0);
  yi.push(y[y.length - 1] ?? 0);
  return { t: ti, yieldPct: yi };
};

/** PASS durations in seconds, in up to 30 equal bins. */
export const durationHistogram = (log: StationLog, batchId: number): BatchReport['durationHistogram'] => {
  const values = (
    log.db
      .prepare(
        "SELECT duration_ms AS v FROM attempts WHERE batch_id = ? AND result = 'pass' AND duration_ms IS NOT NULL",
      )
      .all(batchId) as Row[]
  ).map((r) => Number(r.v) / 1000);
  if (values.length === 0) return { binSeconds: 1, bins: [], counts: [] };
  const max = Math.max(...values);
  const binSeconds = max <= 0 ? 1 : Math.max(0.01, max / 30);
  const n = Math.floor(max / binSeconds) + 1;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) {
    const i = Math.min(n - 1, Math.floor(v / binSeconds));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return { binSeconds, bins: counts.map((_, i) => i * binSeconds), counts };
};

const exportName = (lot: string, format: string): string =>
  `${lot.replace(/[^A-Za-z0-9._-]+/g, '_')}.${format}`;

const exportTo = async (
  ctx: HandlerContext,
  request: { lot: string; format: 'csv' | 'json'; path?: string | undefined; dialog: boolean },
): Promise<Result<{ rows: number; path?: string; content?: string }>> => {
  const log = ctx.log();
  let target = request.path ? ctx.resolvePath(request.path) : undefined;
  if (request.dialog) {
    if (!ctx.options.chooseSavePath)
      return err('NO_SAVE_DIALOG', 'This station cannot show a save dialog.', {
        remedy: 'Export with a path, or ask for the content.',
      });
    target = await ctx.options.chooseSavePath(exportName(request.lot, request.format));
    if (!target) return err('EXPORT_CANCELLED', 'The export was cancelled.');
  }
  if (target) {
    // Only export files: a compromised page must not overwrite arbitrary files through this.
    if (!target.toLowerCase().endsWith(`.${request.format}`))
      return err(
        'EXPORT_PATH_INVALID',
        `An export to ${request.format.toUpperCase()} must end in .${request.format}.`,
        {
          remedy: `Choose a file name ending in .${request.format}.`,
        },
      );
    const path = target;
    return guarded(() => ({ rows: exportToFile(log, request.lot, request.format, path), path }));
  }
  return guarded(() => {
    const batch = log.requireBatch(request.lot);
    const chunks: string[] = [];
    const rows = writeExport(log, batch, request.format, (c) => chunks.push(c));
    return { rows, content: chunks.join('') };
  });
};

export const batchHandlers = {
  'batch.list': async (_request, ctx) =>
    guarded(() => {
      const log = ctx.log();
      return log
        .batches()
        .reverse()
        .map((b) => batchSummary(log, b));
    }),

  'batch.attempts': async (request, ctx) =>
    guarded(() => {
      const log = ctx.log();
      const batch = log.requireBatch(request.lot);
      const total = Number(
        (log.db.prepare('SELECT COUNT(*) AS n FROM attempts WHERE batch_id = ?').get(batch.id) as Row).n,
      );
      const rows = (
        log.db
          .prepare(
            `SELECT a.*, ${LABEL_STATE_SQL} AS label_state FROM attempts a WHERE batch_id = ? ORDER BY id LIMIT ? OFFSET ?`,
          )
          .all(batch.id, request.limit, request.offset) as Row[]
      ).map((r) => ({ ...attemptRow(toAttempt(r)), ...labelOf(r) }));
      // A PASS's registration as the outbox holds it now (the export's rule), for this page's
      // devices only: a page costs a few indexed look-ups, not a scan of the product's outbox.
      for (const row of rows)
        if (row.result === 'pass' && row.deviceId) {
          const now = registrationState(log.db, batch.product, row.deviceId).state;
          if (now !== 'none') row.registrationState = now;
        }
      return { total, offset: request.offset, rows };
    }),

  'batch.report': async (request, ctx) =>
    guarded(() => {
      const log = ctx.log();
      const batch = log.requireBatch(request.lot);
      const stats = batchStats(log, request.lot);
      return {
        batch: batchSummary(log, batch),
        firstPassYield: stats.firstPassYield,
        pareto: stats.pareto.map((p) => ({ ...p })),
        stepMs: Object.fromEntries(Object.entries(stats.stepMs).map(([k, v]) => [k, { ...v }])),
        yieldSeries: yieldSeries(log, batch.id),
        durationHistogram: durationHistogram(log, batch.id),
      };
    }),

  'batch.export': async (request, ctx) => exportTo(ctx, request),
} satisfies Pick<Handlers, 'batch.list' | 'batch.attempts' | 'batch.report' | 'batch.export'>;

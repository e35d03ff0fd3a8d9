import type { DatabaseSync } from 'node:sqlite';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { transaction } from '../store/database';
import { whereEqual } from '../store/where';
import { type LabelErrorCode, labelErr } from './errors';
import { type LabelRecord, symbolContent } from './label-record';
import type { LabelTemplate } from './template-schema';

/**
 * The durable label queue (table `label_jobs`, migration `labels-1`). The store knows nothing
 * about printers: the print loop (print-loop.ts) takes due jobs, prints, and settles them here,
 * committing before anyone is told. Every write is one transaction, or a savepoint when the
 * caller already holds one (so a PASS and its label job can commit together).
 */

export type LabelJobState = 'pending' | 'printed' | 'failed';
export type LabelJobKind = 'print' | 'reprint';

export interface LabelJob {
  readonly id: number;
  readonly attemptId: number;
  readonly batchId: number;
  readonly deviceId: string;
  /** The symbol's content: what the scan-back check expects. Empty when it could not be made. */
  readonly content: string;
  readonly record: LabelRecord;
  readonly kind: LabelJobKind;
  readonly reprintOf: number | null;
  readonly requestedBy: string | null;
  readonly reason: string | null;
  readonly state: LabelJobState;
  readonly tries: number;
  /** Epoch ms. */
  readonly nextTryAt: number;
  /** A try lost the connection after the label left the station: a spare may have printed. */
  readonly maybePrinted: boolean;
  readonly lastErrorCode: string | null;
  readonly lastErrorMessage: string | null;
  /** Where it went: host:port, a CUPS request ID or a file path. */
  readonly output: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly printedAt: string | null;
}

type Row = {
  id: number;
  attempt_id: number;
  batch_id: number;
  device_id: string;
  content: string;
  record: string;
  kind: LabelJobKind;
  reprint_of: number | null;
  requested_by: string | null;
  reason: string | null;
  state: LabelJobState;
  tries: number;
  next_try_at: number;
  maybe_printed: number;
  last_error_code: string | null;
  last_error_message: string | null;
  output: string | null;
  created_at: string;
  updated_at: string;
  printed_at: string | null;
};

const toJob = (r: Row): LabelJob => ({
  id: r.id,
  attemptId: r.attempt_id,
  batchId: r.batch_id,
  deviceId: r.device_id,
  content: r.content,
  record: JSON.parse(r.record) as LabelRecord,
  kind: r.kind,
  reprintOf: r.reprint_of,
  requestedBy: r.requested_by,
  reason: r.reason,
  state: r.state,
  tries: r.tries,
  nextTryAt: r.next_try_at,
  maybePrinted: r.maybe_printed === 1,
  lastErrorCode: r.last_error_code,
  lastErrorMessage: r.last_error_message,
  output: r.output,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  printedAt: r.printed_at,
});

let savepoints = 0;

/** One transaction, or a savepoint inside the caller's (StationLog.grouped, for one). */
export const inTransaction = <T>(db: DatabaseSync, fn: () => T): T => {
  if (!db.isTransaction) return transaction(db, fn);
  const name = `labels_${++savepoints}`;
  db.exec(`SAVEPOINT ${name}`);
  try {
    const result = fn();
    db.exec(`RELEASE ${name}`);
    return result;
  } catch (e) {
    if (db.isTransaction) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
    }
    throw e;
  }
};

const insertEvent = (
  db: DatabaseSync,
  batchId: number,
  attemptId: number,
  type: string,
  data: Record<string, unknown>,
  iso: string,
) => {
  db.prepare('INSERT INTO events (batch_id, attempt_id, at, type, data) VALUES (?, ?, ?, ?, ?)').run(
    batchId,
    attemptId,
    iso,
    type,
    JSON.stringify(data),
  );
};

// Wake-on-enqueue: a print loop in this process subscribes to the handle it prints from.
const listeners = new WeakMap<DatabaseSync, Set<() => void>>();

export const onLabelQueued = (db: DatabaseSync, listener: () => void): (() => void) => {
  let set = listeners.get(db);
  if (!set) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(listener);
  return () => set.delete(listener);
};

const notify = (db: DatabaseSync) => {
  for (const l of listeners.get(db) ?? []) l();
};

export const labelJob = (db: DatabaseSync, id: number): LabelJob | undefined => {
  const r = db.prepare('SELECT * FROM label_jobs WHERE id = ?').get(id) as Row | undefined;
  return r ? toJob(r) : undefined;
};

export interface EnqueueLabel {
  readonly attemptId: number;
  readonly batchId: number;
  readonly template: Pick<LabelTemplate, 'symbol'>;
  readonly record: LabelRecord;
}

/**
 * Queues the label of a PASS. Idempotent per attempt: a second call returns the job already
 * there. A label whose symbol cannot be made (the template's key is missing for this device) is
 * still recorded, as failed, so it is visible in the batch view instead of silently absent.
 */
export const enqueueLabel = (
  db: DatabaseSync,
  req: EnqueueLabel,
  now: number = Date.now(),
): { job: LabelJob; created: boolean } => {
  const iso = new Date(now).toISOString();
  const content = symbolContent(req.template, req.record);
  const result = inTransaction(db, () => {
    const existing = db
      .prepare("SELECT * FROM label_jobs WHERE attempt_id = ? AND kind = 'print'")
      .get(req.attemptId) as Row | undefined;
    if (existing) return { job: toJob(existing), created: false };
    const r = db
      .prepare(
        `INSERT INTO label_jobs (attempt_id, batch_id, device_id, content, record, kind, state, next_try_at,
             last_error_code, last_error_message, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'print', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        req.attemptId,
        req.batchId,
        req.record.deviceId,
        content.ok ? content.value : '',
        JSON.stringify(req.record),
        content.ok ? 'pending' : 'failed',
        now,
        content.ok ? null : content.error.code,
        content.ok ? null : content.error.message,
        iso,
        iso,
      );
    const id = Number(r.lastInsertRowid);
    insertEvent(
      db,
      req.batchId,
      req.attemptId,
      content.ok ? 'label-queued' : 'label-failed',
      content.ok ? { jobId: id, content: content.value } : { jobId: id, code: content.error.code },
      iso,
    );
    return { job: labelJob(db, id) as LabelJob, created: true };
  });
  if (result.created && result.job.state === 'pending') notify(db);
  return result;
};

export interface ReprintRequest {
  readonly attemptId: number;
  /** Who asked (operator or engineer name): the reprint is audited. */
  readonly actor: string;
  readonly reason?: string | undefined;
  /** The current template: the key is taken again, so a reprint after a template fix works. */
  readonly template?: Pick<LabelTemplate, 'symbol'> | undefined;
}

/**
 * A new job for an attempt that already had a label (printed, failed or still pending), written
 * with an audit-log entry in the same transaction. The batch view's "Reprint" calls this.
 */
export const requestReprint = (
  db: DatabaseSync,
  req: ReprintRequest,
  now: number = Date.now(),
): Result<LabelJob, LabelErrorCode> => {
  const iso = new Date(now).toISOString();
  const last = db
    .prepare('SELECT * FROM label_jobs WHERE attempt_id = ? ORDER BY id DESC LIMIT 1')
    .get(req.attemptId) as Row | undefined;
  if (!last)
    return labelErr('LABEL_JOB_NOT_FOUND', `Attempt ${req.attemptId} has no label job to reprint.`, {
      details: { attemptId: req.attemptId },
    });
  const base = toJob(last);
  const content = req.template ? symbolContent(req.template, base.record) : ok(base.content);
  if (!content.ok) return content;
  const job = inTransaction(db, () => {
    const r = db
      .prepare(
        `INSERT INTO label_jobs (attempt_id, batch_id, device_id, content, record, kind, reprint_of, requested_by,
             reason, state, next_try_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'reprint', ?, ?, ?, 'pending', ?, ?, ?)`,
      )
      .run(
        base.attemptId,
        base.batchId,
        base.deviceId,
        content.value,
        JSON.stringify(base.record),
        base.id,
        req.actor,
        req.reason ?? null,
        now,
        iso,
        iso,
      );
    const id = Number(r.lastInsertRowid);
    const details = {
      attemptId: base.attemptId,
      deviceId: base.deviceId,
      jobId: id,
      reprintOf: base.id,
      content: content.value,
      ...(req.reason ? { reason: req.reason } : {}),
    };
    db.prepare('INSERT INTO audit_log (at, actor, action, batch_id, details) VALUES (?, ?, ?, ?, ?)').run(
      iso,
      req.actor,
      'label-reprint',
      base.batchId,
      JSON.stringify(details),
    );
    insertEvent(
      db,
      base.batchId,
      base.attemptId,
      'label-reprint-requested',
      { ...details, by: req.actor },
      iso,
    );
    return labelJob(db, id) as LabelJob;
  });
  notify(db);
  return ok(job);
};

/** Pending jobs due now, oldest first (the order they came off the line). */
export const dueLabelJobs = (
  db: DatabaseSync,
  now: number,
  opts: { ignoreSchedule?: boolean } = {},
): LabelJob[] =>
  (
    db
      .prepare("SELECT * FROM label_jobs WHERE state = 'pending' AND (? OR next_try_at <= ?) ORDER BY id")
      .all(opts.ignoreSchedule ? 1 : 0, now) as Row[]
  ).map(toJob);

/** When the next pending job falls due (epoch ms), or undefined when none is pending. */
export const nextLabelDueAt = (db: DatabaseSync): number | undefined => {
  const r = db.prepare("SELECT MIN(next_try_at) AS t FROM label_jobs WHERE state = 'pending'").get() as {
    t: number | null;
  };
  return r.t ?? undefined;
};

export type LabelSettle =
  | { readonly state: 'printed'; readonly output: string }
  | {
      readonly state: 'pending';
      readonly code: string;
      readonly message: string;
      readonly nextTryAt: number;
      readonly maybePrinted?: boolean;
    }
  | { readonly state: 'failed'; readonly code: string; readonly message: string };

/** Records one try's outcome (counting the try), with an event for printed and failed labels. */
export const settleLabelJob = (
  db: DatabaseSync,
  id: number,
  outcome: LabelSettle,
  now: number = Date.now(),
): LabelJob => {
  const iso = new Date(now).toISOString();
  return inTransaction(db, () => {
    const job = labelJob(db, id);
    if (!job) throw new Error(`No label job ${id}.`);
    if (outcome.state === 'printed') {
      db.prepare(
        `UPDATE label_jobs SET state = 'printed', tries = tries + 1, output = ?, printed_at = ?, updated_at = ?
           WHERE id = ?`,
      ).run(outcome.output, iso, iso, id);
      insertEvent(
        db,
        job.batchId,
        job.attemptId,
        'label-printed',
        { jobId: id, output: outcome.output, content: job.content },
        iso,
      );
    } else if (outcome.state === 'pending') {
      db.prepare(
        `UPDATE label_jobs SET tries = tries + 1, next_try_at = ?, last_error_code = ?, last_error_message = ?,
             maybe_printed = MAX(maybe_printed, ?), updated_at = ?
           WHERE id = ?`,
      ).run(outcome.nextTryAt, outcome.code, outcome.message, outcome.maybePrinted ? 1 : 0, iso, id);
    } else {
      db.prepare(
        `UPDATE label_jobs SET state = 'failed', tries = tries + 1, last_error_code = ?, last_error_message = ?,
             updated_at = ?
           WHERE id = ?`,
      ).run(outcome.code, outcome.message, iso, id);
      insertEvent(db, job.batchId, job.attemptId, 'label-failed', { jobId: id, code: outcome.code }, iso);
    }
    return labelJob(db, id) as LabelJob;
  });
};

/** Makes every pending job due now (the operator fixed the printer and pressed "Print now"). */
export const rearmLabelJobs = (db: DatabaseSync, now: number = Date.now()): number => {
  const n = Number(
    db
      .prepare("UPDATE label_jobs SET next_try_at = ? WHERE state = 'pending' AND next_try_at > ?")
      .run(now, now).changes,
  );
  notify(db);
  return n;
};

export interface LabelJobFilter {
  readonly batchId?: number;
  readonly attemptId?: number;
  readonly state?: LabelJobState;
}

export const listLabelJobs = (db: DatabaseSync, filter: LabelJobFilter = {}): LabelJob[] => {
  const where = whereEqual({ batch_id: filter.batchId, attempt_id: filter.attemptId, state: filter.state });
  return (db.prepare(`SELECT * FROM label_jobs ${where.sql} ORDER BY id`).all(...where.args) as Row[]).map(
    toJob,
  );
};

export type LabelVerification = 'verified' | 'mismatch';

/** What a slot or the batch view shows for an attempt's label. */
export interface AttemptLabelState {
  /** `none`: no label was queued (no printer configured, or not a PASS). */
  readonly state: LabelJobState | 'none';
  /** The newest job (a reprint supersedes the print). */
  readonly job?: LabelJob;
  readonly verified: LabelVerification | null;
}

export const attemptLabelState = (db: DatabaseSync, attemptId: number): AttemptLabelState => {
  const r = db
    .prepare('SELECT * FROM label_jobs WHERE attempt_id = ? ORDER BY id DESC LIMIT 1')
    .get(attemptId) as Row | undefined;
  const v = db.prepare('SELECT label_verified FROM attempts WHERE id = ?').get(attemptId) as
    | { label_verified: LabelVerification | null }
    | undefined;
  const verified = v?.label_verified ?? null;
  return r ? { state: r.state, job: toJob(r), verified } : { state: 'none', verified };
};

export interface LabelCounts {
  pending: number;
  printed: number;
  failed: number;
}

export const labelCounts = (db: DatabaseSync, batchId?: number): LabelCounts => {
  const rows = db
    .prepare(`SELECT state, COUNT(*) AS n FROM label_jobs WHERE (? IS NULL OR batch_id = ?) GROUP BY state`)
    .all(batchId ?? null, batchId ?? null) as { state: LabelJobState; n: number }[];
  const counts: LabelCounts = { pending: 0, printed: 0, failed: 0 };
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
};

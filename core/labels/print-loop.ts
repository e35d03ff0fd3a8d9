import type { DatabaseSync } from 'node:sqlite';
import { type BackoffPolicy, backoffDelay } from '../cloud/backoff';
import type { LsError } from '../errors/result';
import { createBackgroundLoop } from '../time/background-loop';
import { isTransientLabelError } from './errors';
import { dueLabelJobs, type LabelJob, nextLabelDueAt, onLabelQueued, settleLabelJob } from './job-store';
import type { LabelPrinter, PrintReceipt } from './printer';

/**
 * The background printer loop: takes due label jobs oldest first, one at a time (a printer
 * prints in order), and settles each in the store before anyone hears of it. A printer that is
 * not ready holds the whole queue, since the next label would meet the same printer, and is
 * asked again on the cloud outbox's backoff (core/cloud/backoff.ts: exponential with equal
 * jitter), short enough that a reloaded roll starts printing within seconds.
 */

export const DEFAULT_LABEL_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000 };

/** Told only after the outcome is committed. */
export type LabelLoopEvent =
  | { readonly type: 'printed'; readonly job: LabelJob; readonly receipt: PrintReceipt }
  | { readonly type: 'waiting'; readonly job: LabelJob; readonly error: LsError; readonly retryInMs: number }
  | { readonly type: 'failed'; readonly job: LabelJob; readonly error: LsError }
  | { readonly type: 'error'; readonly message: string };

export interface LabelLoopOptions {
  readonly db: DatabaseSync;
  readonly printer: LabelPrinter;
  readonly backoff?: BackoffPolicy;
  /** Longest sleep between looks at the queue, for jobs queued through another handle. */
  readonly idlePollMs?: number;
  readonly onEvent?: (event: LabelLoopEvent) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface LabelPassReport {
  printed: number;
  waiting: number;
  failed: number;
}

export interface LabelLoop {
  start(): void;
  /** Stops, cancelling a label in flight (its job stays pending). */
  stop(): Promise<void>;
  /** Looks at the queue now (automatic on enqueue through the same handle). */
  wake(): void;
  subscribe(listener: (event: LabelLoopEvent) => void): () => void;
  /** One pass over the due jobs; `ignoreSchedule` tries every pending job now ("Print now"). */
  printDue(opts?: { ignoreSchedule?: boolean; signal?: AbortSignal }): Promise<LabelPassReport>;
  readonly running: boolean;
}

export const createLabelLoop = (options: LabelLoopOptions): LabelLoop => {
  const { db, printer } = options;
  const policy = options.backoff ?? DEFAULT_LABEL_BACKOFF;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const idlePollMs = options.idlePollMs ?? 30_000;
  const listeners = new Set<(event: LabelLoopEvent) => void>();
  if (options.onEvent) listeners.add(options.onEvent);
  const emit = (e: LabelLoopEvent) => {
    for (const l of listeners)
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the labels.
      }
  };

  /** In memory: the printer said "not ready" and is not asked again before this. */
  let holdUntil = 0;

  // Passes never overlap (background loop and "Print now"), so no job is sent twice at once.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const pass = (ignoreSchedule: boolean, signal: AbortSignal): Promise<LabelPassReport> =>
    exclusive(async () => {
      const report: LabelPassReport = { printed: 0, waiting: 0, failed: 0 };
      if (ignoreSchedule) holdUntil = 0;
      if (now() < holdUntil) return report;
      for (const job of dueLabelJobs(db, now(), { ignoreSchedule })) {
        if (signal.aborted) break;
        const r = await printer.print({ jobId: job.id, record: job.record }, signal);
        if (signal.aborted && !r.ok) break; // stopped mid-label: the job stays as it was
        if (r.ok) {
          const settled = settleLabelJob(db, job.id, { state: 'printed', output: r.value.output }, now());
          report.printed++;
          emit({ type: 'printed', job: settled, receipt: r.value });
          continue;
        }
        const error = r.error;
        if (!isTransientLabelError(error.code)) {
          const settled = settleLabelJob(
            db,
            job.id,
            { state: 'failed', code: error.code, message: error.message },
            now(),
          );
          report.failed++;
          emit({ type: 'failed', job: settled, error });
          continue;
        }
        const retryInMs = backoffDelay(job.tries + 1, policy, random);
        const settled = settleLabelJob(
          db,
          job.id,
          {
            state: 'pending',
            code: error.code,
            message: error.message,
            nextTryAt: now() + retryInMs,
            maybePrinted: error.details?.maybePrinted === true,
          },
          now(),
        );
        holdUntil = now() + retryInMs;
        report.waiting++;
        emit({ type: 'waiting', job: settled, error, retryInMs });
        break;
      }
      return report;
    });

  const nextWakeIn = (): number | undefined => {
    const due = nextLabelDueAt(db);
    if (due === undefined) return undefined;
    return Math.max(0, Math.max(due, holdUntil) - now());
  };

  const background = createBackgroundLoop({
    pass: (signal) => pass(false, signal),
    nextWakeIn,
    idlePollMs,
    errorPauseMs: policy.baseMs,
    // A store error (disk full, read-only): said, and tried again later rather than dying.
    onError: (message) => emit({ type: 'error', message }),
    subscribe: (wake) => onLabelQueued(db, wake),
  });
  const wake = background.wake;

  return {
    get running() {
      return background.running;
    },
    start: () => background.start(),
    stop: () => background.stop(),
    wake,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    printDue(opts = {}) {
      return pass(opts.ignoreSchedule ?? false, opts.signal ?? new AbortController().signal);
    },
  };
};

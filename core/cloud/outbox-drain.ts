import type { DatabaseSync } from 'node:sqlite';
import {
  blockProductOutbox,
  dueOutboxEntries,
  nextOutboxDueByProduct,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxSettle,
  onEnqueue,
  outboxCounts,
  settleOutbox,
  unblockOutbox,
} from '../store/outbox';
import { sleep } from '../time/sleep';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { CloudClient } from './client';
import { type CloudError, DEVICE_REJECTIONS } from './errors';
import { classifyImport } from './import-outcome';

export interface DrainOptions {
  readonly db: DatabaseSync;
  readonly client: CloudClient;
  readonly backoff?: BackoffPolicy;
  /** Device IDs per import request. */
  readonly batchSize?: number;
  /** Only drain this product's entries. */
  readonly productId?: string;
  /** Re-arm entries blocked by a configuration error when the drain starts (default true). */
  readonly unblockOnStart?: boolean;
  /**
   * Longest sleep between checks, so entries another process (or another database handle)
   * enqueued are picked up even without a wake.
   */
  readonly idlePollMs?: number;
  readonly onEvent?: (event: DrainEvent) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface SettledDevice {
  readonly deviceId: string;
  readonly action: 'import' | 'settings';
  readonly state: 'done' | 'failed' | 'pending';
  /** done: imported | existing | applied. */
  readonly outcome?: string;
  readonly code?: string;
  readonly message?: string;
}

/** Told only after the outcome is committed to the store. */
export type DrainEvent =
  | { readonly type: 'settled'; readonly productId: string; readonly devices: readonly SettledDevice[] }
  | {
      readonly type: 'config-error';
      readonly productId: string;
      readonly error: CloudError;
      /** Pending entries now blocked until an engineer fixes the configuration. */
      readonly blocked: number;
    }
  | {
      readonly type: 'retry';
      readonly productId: string;
      readonly deviceIds: readonly string[];
      readonly error: CloudError;
      readonly retryInMs: number;
    }
  | { readonly type: 'error'; readonly message: string };

export interface DrainReport {
  /** HTTP requests sent. */
  requests: number;
  imported: number;
  existing: number;
  settingsApplied: number;
  failed: { productId: string; deviceId: string; action: string; code: string; message: string }[];
  /** Device sends that will be retried (counted per device and attempt). */
  retries: number;
  configErrors: { productId: string; code: string; message: string; remedy?: string; blocked: number }[];
  /** Outbox state after the run. */
  remaining: OutboxCounts;
}

export interface Drain {
  /** Starts the background drain; idempotent. */
  start(): void;
  /** Stops it, cancelling any request in flight (its entries stay pending). */
  stop(): Promise<void>;
  /** Looks for work now (called automatically on enqueue through the same database handle). */
  wake(): void;
  /** Adds a listener besides options.onEvent (told after commit, like it); returns its remover. */
  subscribe(listener: (event: DrainEvent) => void): () => void;
  /** Re-arms entries blocked by a configuration error, e.g. after the engineer set a new token. */
  unblock(productId?: string): number;
  /** One pass over the entries due now (or all pending with ignoreSchedule). */
  drainDue(opts?: { ignoreSchedule?: boolean; signal?: AbortSignal }): Promise<DrainReport>;
  /** Sends everything pending now, retrying with backoff until empty or the deadline. */
  drainNow(opts?: { deadlineMs?: number; signal?: AbortSignal }): Promise<DrainReport>;
  readonly running: boolean;
}

const emptyReport = (): DrainReport => ({
  requests: 0,
  imported: 0,
  existing: 0,
  settingsApplied: 0,
  failed: [],
  retries: 0,
  configErrors: [],
  remaining: { pending: 0, done: 0, failed: 0, blocked: 0 },
});

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export const createDrain = (options: DrainOptions): Drain => {
  const { db, client } = options;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const idlePollMs = options.idlePollMs ?? 30_000;
  const listeners = new Set<(event: DrainEvent) => void>();
  if (options.onEvent) listeners.add(options.onEvent);
  const emit = (e: DrainEvent) => {
    for (const l of listeners)
      try {
        l(e);
      } catch {
        // A listener's bug must not stop registrations.
      }
  };

  /**
   * A product the cloud just told to back off (429, 5xx, timeout) is held in memory until then,
   * so its other due entries do not hammer it in the same breath. After a restart the hold is
   * gone and one request probes again, which is the behaviour we want anyway.
   */
  const holds = new Map<string, number>();

  // Passes never overlap (the background loop and a manual sync in the same process), so no
  // entry is sent twice concurrently from here.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const retryUpdates = (
    entries: readonly OutboxEntry[],
    error: CloudError,
    report: DrainReport,
  ): { updates: OutboxSettle[]; delay: number; minDelay: number } => {
    let maxDelay = 0;
    let minDelay = Number.POSITIVE_INFINITY;
    const updates = entries.map((e): OutboxSettle => {
      const delay = backoffDelay(e.attempts + 1, policy, random, error.retryAfterMs);
      maxDelay = Math.max(maxDelay, delay);
      minDelay = Math.min(minDelay, delay);
      return {
        id: e.id,
        state: 'pending',
        code: error.code,
        message: error.message,
        nextAttemptAt: now() + delay,
      };
    });
    report.retries += entries.length;
    return { updates, delay: maxDelay, minDelay: Number.isFinite(minDelay) ? minDelay : 0 };
  };

  /** Handles a failed request; returns false when the product must not be sent more now. */
  const onFailure = (
    productId: string,
    entries: readonly OutboxEntry[],
    error: CloudError,
    report: DrainReport,
  ): boolean => {
    if (error.kind === 'aborted') return false;
    if (error.kind === 'config') {
      const blocked = blockProductOutbox(db, productId, error.code, error.message, now());
      report.configErrors.push({
        productId,
        code: error.code,
        message: error.message,
        ...(error.remedy ? { remedy: error.remedy } : {}),
        blocked,
      });
      emit({ type: 'config-error', productId, error, blocked });
      return false;
    }
    if (error.kind === 'backoff') {
      const { updates, delay, minDelay } = retryUpdates(entries, error, report);
      settleOutbox(db, updates, now());
      holds.set(productId, now() + minDelay);
      emit({ type: 'retry', productId, deviceIds: entries.map((e) => e.deviceId), error, retryInMs: delay });
      return false;
    }
    // permanent: this request as sent will never succeed.
    const updates = entries.map(
      (e): OutboxSettle => ({ id: e.id, state: 'failed', code: error.code, message: error.message }),
    );
    settleOutbox(db, updates, now());
    for (const e of entries)
      report.failed.push({
        productId,
        deviceId: e.deviceId,
        action: e.action,
        code: error.code,
        message: error.message,
      });
    emit({
      type: 'settled',
      productId,
      devices: entries.map((e) => ({
        deviceId: e.deviceId,
        action: e.action,
        state: 'failed',
        code: error.code,
        message: error.message,
      })),
    });
    return true;
  };

  const sendImports = async (
    productId: string,
    entries: readonly OutboxEntry[],
    report: DrainReport,
    signal: AbortSignal,
  ): Promise<boolean> => {
    report.requests++;
    const r = await client.importDevices(
      productId,
      entries.map((e) => e.deviceId),
      { signal },
    );
    if (!r.ok) {
      // A 400 on a multi-device request may be one odd ID: send them one by one so only it fails.
      if (r.error.kind === 'permanent' && entries.length > 1) {
        for (const e of entries) if (!(await sendImports(productId, [e], report, signal))) return false;
        return true;
      }
      return onFailure(productId, entries, r.error, report);
    }
    const outcomes = classifyImport(
      r.value,
      entries.map((e) => e.deviceId),
    );
    const updates: OutboxSettle[] = [];
    const devices: SettledDevice[] = [];
    const unacked: OutboxEntry[] = [];
    for (const e of entries) {
      const o = outcomes.get(e.deviceId) ?? { kind: 'unacknowledged' as const };
      if (o.kind === 'done') {
        updates.push({ id: e.id, state: 'done', outcome: o.how });
        devices.push({ deviceId: e.deviceId, action: 'import', state: 'done', outcome: o.how });
        if (o.how === 'imported') report.imported++;
        else report.existing++;
      } else if (o.kind === 'rejected') {
        const { message } = DEVICE_REJECTIONS[o.code];
        updates.push({ id: e.id, state: 'failed', code: o.code, message });
        devices.push({ deviceId: e.deviceId, action: 'import', state: 'failed', code: o.code, message });
        report.failed.push({ productId, deviceId: e.deviceId, action: 'import', code: o.code, message });
      } else unacked.push(e);
    }
    if (unacked.length > 0) {
      const retry = retryUpdates(
        unacked,
        {
          code: 'CLOUD_BAD_RESPONSE',
          kind: 'backoff',
          message:
            'The Particle Cloud answered the import without mentioning this device; it will be sent again.',
        },
        report,
      );
      updates.push(...retry.updates);
      for (const e of unacked)
        devices.push({
          deviceId: e.deviceId,
          action: 'import',
          state: 'pending',
          code: 'CLOUD_BAD_RESPONSE',
        });
    }
    // The acknowledgement is committed before anyone (UI, log, CLI) hears of it.
    settleOutbox(db, updates, now());
    emit({ type: 'settled', productId, devices });
    return true;
  };

  const sendSettings = async (
    productId: string,
    entry: OutboxEntry,
    report: DrainReport,
    signal: AbortSignal,
  ): Promise<boolean> => {
    report.requests++;
    const r = await client.updateDevice(productId, entry.deviceId, entry.settings, { signal });
    if (!r.ok) return onFailure(productId, [entry], r.error, report);
    settleOutbox(
      db,
      [{ id: entry.id, state: 'done', outcome: 'applied', sentPayload: entry.settings }],
      now(),
    );
    report.settingsApplied++;
    emit({
      type: 'settled',
      productId,
      devices: [{ deviceId: entry.deviceId, action: 'settings', state: 'done', outcome: 'applied' }],
    });
    return true;
  };

  const pass = (ignoreSchedule: boolean, signal: AbortSignal, report: DrainReport): Promise<DrainReport> =>
    exclusive(async () => {
      // Settings become due once their import is done, possibly within this pass: loop until the
      // pass finds nothing sendable.
      for (let round = 0; round < 1000 && !signal.aborted; round++) {
        if (ignoreSchedule) holds.clear();
        const t = now();
        const due = dueOutboxEntries(db, t, {
          ignoreSchedule,
          ...(options.productId ? { productId: options.productId } : {}),
        }).filter((e) => (holds.get(e.productId) ?? 0) <= t);
        if (due.length === 0) break;
        ignoreSchedule = false;
        const byProduct = new Map<string, OutboxEntry[]>();
        for (const e of due) byProduct.set(e.productId, [...(byProduct.get(e.productId) ?? []), e]);
        let progressed = false;
        for (const [productId, entries] of byProduct) {
          let go = true;
          for (const group of chunk(
            entries.filter((e) => e.action === 'import'),
            batchSize,
          )) {
            if (!go || signal.aborted) break;
            go = await sendImports(productId, group, report, signal);
            progressed = true;
          }
          for (const e of entries.filter((x) => x.action === 'settings')) {
            if (!go || signal.aborted) break;
            go = await sendSettings(productId, e, report, signal);
            progressed = true;
          }
        }
        if (!progressed) break;
      }
      report.remaining = outboxCounts(db, options.productId);
      return report;
    });

  /** Milliseconds until something is sendable, or undefined when nothing is pending. */
  const nextWakeIn = (): number | undefined => {
    const t = now();
    let soonest: number | undefined;
    for (const [productId, due] of nextOutboxDueByProduct(db)) {
      if (options.productId && productId !== options.productId) continue;
      const at = Math.max(due, holds.get(productId) ?? 0);
      soonest = soonest === undefined ? at : Math.min(soonest, at);
    }
    return soonest === undefined ? undefined : Math.max(0, soonest - t);
  };

  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  let woken = false;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  const runLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      woken = false;
      try {
        await pass(false, signal, emptyReport());
      } catch (e) {
        // A store error (disk full, read-only): say so and try again later rather than die.
        emit({ type: 'error', message: e instanceof Error ? e.message : String(e) });
        await sleep(policy.baseMs, signal);
        continue;
      }
      if (signal.aborted || woken) continue;
      const wait = Math.min(nextWakeIn() ?? idlePollMs, idlePollMs);
      const nap = new AbortController();
      wakeUp = () => nap.abort();
      const onStop = () => nap.abort();
      signal.addEventListener('abort', onStop, { once: true });
      await sleep(wait, nap.signal);
      signal.removeEventListener('abort', onStop);
      wakeUp = undefined;
    }
  };

  return {
    get running() {
      return loop !== undefined;
    },
    start() {
      if (loop) return;
      if (options.unblockOnStart ?? true) unblockOutbox(db, options.productId, now());
      controller = new AbortController();
      unsubscribe = onEnqueue(db, wake);
      const signal = controller.signal;
      loop = runLoop(signal);
    },
    async stop() {
      controller?.abort();
      unsubscribe?.();
      await loop;
      loop = undefined;
      controller = undefined;
    },
    wake,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    unblock(productId) {
      const n = unblockOutbox(db, productId ?? options.productId, now());
      holds.clear();
      wake();
      return n;
    },
    drainDue(opts = {}) {
      return pass(opts.ignoreSchedule ?? false, opts.signal ?? new AbortController().signal, emptyReport());
    },
    async drainNow(opts = {}) {
      const signal = opts.signal ?? new AbortController().signal;
      const deadline = now() + (opts.deadlineMs ?? 60_000);
      const report = emptyReport();
      await pass(true, signal, report);
      while (!signal.aborted) {
        const wait = nextWakeIn();
        if (wait === undefined || now() + wait > deadline) break;
        await sleep(wait, signal);
        await pass(false, signal, report);
      }
      report.remaining = outboxCounts(db, options.productId);
      return report;
    },
  };
};

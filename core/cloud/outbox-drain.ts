import type { DatabaseSync } from 'node:sqlite';
import {
  blockProductOutbox,
  dueOutboxEntries,
  nextOutboxDueByProduct,
  type OutboxAction,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxSettle,
  onEnqueue,
  outboxCounts,
  pendingEntriesOf,
  settleOutbox,
  unblockOutbox,
} from '../store/outbox';
import { createBackgroundLoop } from '../time/background-loop';
import { sleep } from '../time/sleep';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { CloudClient } from './client';
import { type CloudError, DEVICE_REJECTIONS } from './errors';
import { classifyImport } from './import-outcome';
import { createGroupSender } from './outbox-groups';

export interface DrainOptions {
  readonly db: DatabaseSync;
  readonly client: CloudClient;
  readonly backoff?: BackoffPolicy;
  /** Device IDs per import request, per SIM import and per batch group assignment. */
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
  readonly action: OutboxAction;
  readonly state: 'done' | 'failed' | 'pending';
  /** done: imported | existing | applied (sim: imported | existing, with its device's import). */
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
  /** Device updates and group memberships acknowledged (and earlier-style settings). */
  settingsApplied: number;
  /** SIMs the cloud took with their device's import, or on their own. */
  simsImported: number;
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
  simsImported: 0,
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

  /** A device-level outcome, committed first, then told. */
  const settle = (productId: string, updates: OutboxSettle[], devices: SettledDevice[]) => {
    settleOutbox(db, updates, now());
    if (devices.length > 0) emit({ type: 'settled', productId, devices });
  };

  /** The SIM rows an import carried end with it: done with the device, or failed with the cloud's reason. */
  const simsWith = (
    productId: string,
    deviceIds: readonly string[],
    how: (deviceId: string) => { outcome: string } | { code: string; message: string } | undefined,
    report: DrainReport,
  ): { updates: OutboxSettle[]; devices: SettledDevice[] } => {
    const updates: OutboxSettle[] = [];
    const devices: SettledDevice[] = [];
    for (const sim of pendingEntriesOf(db, productId, 'sim', deviceIds)) {
      const h = how(sim.deviceId);
      if (!h) continue;
      if ('outcome' in h) {
        updates.push({ id: sim.id, state: 'done', outcome: h.outcome });
        devices.push({ deviceId: sim.deviceId, action: 'sim', state: 'done', outcome: h.outcome });
        report.simsImported++;
      } else {
        updates.push({ id: sim.id, state: 'failed', code: h.code, message: h.message });
        devices.push({
          deviceId: sim.deviceId,
          action: 'sim',
          state: 'failed',
          code: h.code,
          message: h.message,
        });
        report.failed.push({
          productId,
          deviceId: sim.deviceId,
          action: 'sim',
          code: h.code,
          message: h.message,
        });
      }
    }
    return { updates, devices };
  };

  const sendImports = async (
    productId: string,
    entries: readonly OutboxEntry[],
    report: DrainReport,
    signal: AbortSignal,
    withSims = entries.some((e) => e.settings.importSims === true),
  ): Promise<boolean> => {
    report.requests++;
    const r = await client.importDevices(
      productId,
      entries.map((e) => e.deviceId),
      { signal, ...(withSims ? { importSims: true } : {}) },
    );
    if (!r.ok) {
      // A 400 on a multi-device request may be one odd ID or SIM: send them one by one so only it fails.
      if (r.error.kind === 'permanent' && entries.length > 1) {
        for (const e of entries)
          if (!(await sendImports(productId, [e], report, signal, withSims))) return false;
        return true;
      }
      const [only] = entries;
      if (r.error.code === 'CLOUD_SIM_REJECTED' && only) {
        // The SIM is its own outcome: record the cloud's reason, then import the device without it.
        const sims = simsWith(
          productId,
          [only.deviceId],
          () => ({ code: r.error.code, message: r.error.message }),
          report,
        );
        settle(productId, sims.updates, sims.devices);
        return sendImports(productId, entries, report, signal, false);
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
    if (withSims) {
      // The cloud took the SIMs of the devices it took: they end with their device's import.
      const sims = simsWith(
        productId,
        entries.map((e) => e.deviceId),
        (id) => {
          const o = outcomes.get(id);
          return o?.kind === 'done' ? { outcome: o.how } : undefined;
        },
        report,
      );
      updates.push(...sims.updates);
      devices.push(...sims.devices);
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
    settle(productId, updates, devices);
    return true;
  };

  /**
   * SIMs on their own: re-armed after their device's import was done. With the ICCID read at
   * identify they go as one SIM import; without it, as the device's import again with its SIM.
   */
  const sendSims = async (
    productId: string,
    entries: readonly OutboxEntry[],
    report: DrainReport,
    signal: AbortSignal,
  ): Promise<boolean> => {
    const known = entries.filter((e) => e.settings.iccid);
    for (const e of entries.filter((x) => !x.settings.iccid)) {
      if (signal.aborted) return false;
      report.requests++;
      const r = await client.importDevices(productId, [e.deviceId], { signal, importSims: true });
      if (r.ok) settleSims(productId, [e], 'existing', report);
      else if (r.error.code === 'CLOUD_SIM_REJECTED') failSims(productId, [e], r.error, report);
      else if (!onFailure(productId, [e], r.error, report)) return false;
    }
    for (const group of chunk(known, batchSize)) {
      if (signal.aborted) return false;
      report.requests++;
      const r = await client.importSims(
        productId,
        group.map((e) => e.settings.iccid ?? ''),
        { signal },
      );
      if (r.ok) settleSims(productId, group, 'imported', report);
      else if (r.error.code === 'CLOUD_SIM_REJECTED' && group.length > 1) {
        for (const e of group) if (!(await sendSims(productId, [e], report, signal))) return false;
      } else if (r.error.code === 'CLOUD_SIM_REJECTED') failSims(productId, group, r.error, report);
      else if (!onFailure(productId, group, r.error, report)) return false;
    }
    return true;
  };

  const settleSims = (
    productId: string,
    entries: readonly OutboxEntry[],
    outcome: string,
    report: DrainReport,
  ) => {
    report.simsImported += entries.length;
    settle(
      productId,
      entries.map((e) => ({ id: e.id, state: 'done', outcome })),
      entries.map((e) => ({ deviceId: e.deviceId, action: 'sim', state: 'done', outcome })),
    );
  };

  const failSims = (
    productId: string,
    entries: readonly OutboxEntry[],
    error: CloudError,
    report: DrainReport,
  ) => {
    for (const e of entries)
      report.failed.push({
        productId,
        deviceId: e.deviceId,
        action: 'sim',
        code: error.code,
        message: error.message,
      });
    settle(
      productId,
      entries.map((e) => ({ id: e.id, state: 'failed', code: error.code, message: error.message })),
      entries.map((e) => ({
        deviceId: e.deviceId,
        action: 'sim',
        state: 'failed',
        code: error.code,
        message: error.message,
      })),
    );
  };

  /** One PUT per device: an update (name, notes, development, firmware lock), or earlier-style settings. */
  const sendUpdate = async (
    productId: string,
    entry: OutboxEntry,
    report: DrainReport,
    signal: AbortSignal,
  ): Promise<boolean> => {
    report.requests++;
    const { name, notes, development, desiredFirmwareVersion, groups } = entry.settings;
    const r = await client.updateDevice(
      productId,
      entry.deviceId,
      entry.action === 'settings'
        ? { ...(development === undefined ? {} : { development }), ...(groups ? { groups } : {}) }
        : {
            ...(name === undefined ? {} : { name }),
            ...(notes === undefined ? {} : { notes }),
            ...(development === undefined ? {} : { development }),
            ...(desiredFirmwareVersion === undefined ? {} : { desiredFirmwareVersion }),
          },
      { signal },
    );
    if (!r.ok) return onFailure(productId, [entry], r.error, report);
    report.settingsApplied++;
    settle(
      productId,
      [{ id: entry.id, state: 'done', outcome: 'applied', sentPayload: entry.settings }],
      [{ deviceId: entry.deviceId, action: entry.action, state: 'done', outcome: 'applied' }],
    );
    return true;
  };

  let groupReport: DrainReport = emptyReport();
  const groups = createGroupSender({
    client,
    batchSize,
    counted: () => {
      groupReport.requests++;
    },
    done: (productId, entries) => {
      groupReport.settingsApplied += entries.length;
      settle(
        productId,
        entries.map((e) => ({ id: e.id, state: 'done', outcome: 'applied', sentPayload: e.settings })),
        entries.map((e) => ({ deviceId: e.deviceId, action: 'groups', state: 'done', outcome: 'applied' })),
      );
    },
    failed: (productId, entries, error) => onFailure(productId, entries, error, groupReport),
  });

  /** The order a device's work goes in; imports first (the rest waits for them anyway). */
  const ORDER: readonly OutboxAction[] = ['import', 'sim', 'update', 'settings', 'groups'];

  const sendProduct = async (
    productId: string,
    entries: readonly OutboxEntry[],
    report: DrainReport,
    signal: AbortSignal,
  ): Promise<void> => {
    const of = (a: OutboxAction) => entries.filter((e) => e.action === a);
    let go = true;
    for (const action of ORDER) {
      const todo = of(action);
      if (todo.length === 0) continue;
      if (!go || signal.aborted) return;
      if (action === 'import') {
        // import_sims is per request: devices with and without it go separately.
        for (const withSims of [true, false])
          for (const group of chunk(
            todo.filter((e) => (e.settings.importSims === true) === withSims),
            batchSize,
          )) {
            if (!go || signal.aborted) return;
            go = await sendImports(productId, group, report, signal, withSims);
          }
      } else if (action === 'sim') go = await sendSims(productId, todo, report, signal);
      else if (action === 'groups') {
        groupReport = report;
        go = await groups.send(productId, todo, signal);
      } else
        for (const e of todo) {
          if (!go || signal.aborted) return;
          go = await sendUpdate(productId, e, report, signal);
        }
    }
  };

  const pass = (ignoreSchedule: boolean, signal: AbortSignal, report: DrainReport): Promise<DrainReport> =>
    exclusive(async () => {
      // Updates and groups become due once their import is done, possibly within this pass: loop
      // until the pass finds nothing sendable.
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
        const before = report.requests;
        for (const [productId, entries] of byProduct) {
          if (signal.aborted) break;
          await sendProduct(productId, entries, report, signal);
        }
        if (report.requests === before) break;
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

  const background = createBackgroundLoop({
    pass: (signal) => pass(false, signal, emptyReport()),
    nextWakeIn,
    idlePollMs,
    errorPauseMs: policy.baseMs,
    // A store error (disk full, read-only): said, and tried again later rather than dying.
    onError: (message) => emit({ type: 'error', message }),
    subscribe: (wake) => onEnqueue(db, wake),
  });
  const wake = background.wake;

  return {
    get running() {
      return background.running;
    },
    start() {
      if (background.running) return;
      if (options.unblockOnStart ?? true) unblockOutbox(db, options.productId, now());
      background.start();
    },
    stop: () => background.stop(),
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

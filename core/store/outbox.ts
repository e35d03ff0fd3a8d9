import type { DatabaseSync } from 'node:sqlite';
import { transaction } from './database';
import { whereEqual } from './where';

// The durable registration outbox. The store knows nothing about HTTP: the drain
// (core/cloud/outbox-drain.ts) reads due entries, talks to the cloud and writes outcomes back
// through `settleOutbox`, which commits before anyone is told.

/**
 * - import: the device into the product (batched; `import_sims` rides along for cellular devices);
 * - sim: the device's SIM. Normally settled by the import that carried it; sent on its own (SIM
 *   import) only when re-armed after the import was done;
 * - update: one PUT per device (name, notes, development flag, firmware lock);
 * - groups: group membership, batched per group set (static groups and the date group);
 * - settings: the earlier PUT {development, groups}; still drained for databases that hold it,
 *   no longer created.
 */
export type OutboxAction = 'import' | 'sim' | 'update' | 'groups' | 'settings';
/**
 * - pending: waiting to be sent (at or after nextAttemptAt);
 * - done: the cloud acknowledged it (kept for history; see pruneOutbox);
 * - failed: the cloud said it will never work (invalid, non-member, protected, bad request);
 * - blocked: a configuration error (token, scope, product) stopped it until an engineer acts.
 */
export type OutboxState = 'pending' | 'done' | 'failed' | 'blocked';

/** What an entry carries; which fields depends on its action (see OutboxAction). */
export interface OutboxSettings {
  /** import: send `import_sims: true`. */
  readonly importSims?: boolean;
  /** sim: the ICCID read from the device, for a SIM import on its own. */
  readonly iccid?: string;
  /** update: the device name (already rendered from the profile's template). */
  readonly name?: string;
  /** update: the device notes (rendered). */
  readonly notes?: string;
  /** update (and legacy settings): mark as a development device. */
  readonly development?: boolean;
  /** update: lock the device to this product firmware version (`desired_firmware_version`). */
  readonly desiredFirmwareVersion?: number;
  /** groups (and legacy settings): static groups, sorted. */
  readonly groups?: readonly string[];
  /** groups: the shipment's day (YYYYMMDD): the device joins that day's date group. */
  readonly dateGroup?: string;
}

export interface OutboxEntry {
  readonly id: number;
  readonly productId: string;
  readonly deviceId: string;
  readonly action: OutboxAction;
  /** What the entry carries (see OutboxSettings); `{}` for a plain import. */
  readonly settings: OutboxSettings;
  readonly state: OutboxState;
  readonly attempts: number;
  /** Epoch ms. */
  readonly nextAttemptAt: number;
  /** How it ended when done: 'imported', 'existing' or 'applied'. */
  readonly outcome: string | null;
  readonly lastErrorCode: string | null;
  readonly lastErrorMessage: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly doneAt: string | null;
}

export interface RegistrationRequest {
  readonly productId: string | number;
  readonly deviceId: string;
  /** Mark as a development device (prototypes: the cloud will not auto-update it). */
  readonly development?: boolean | undefined;
  readonly groups?: readonly string[] | undefined;
  /** Import the device's SIM with it (`import_sims`); cellular products. */
  readonly importSims?: boolean | undefined;
  /** The ICCID read at identify (kept for a SIM import on its own). */
  readonly iccid?: string | undefined;
  /** The device name, rendered (core/cloud/cloud-setup.ts). */
  readonly name?: string | undefined;
  /** The device notes, rendered. */
  readonly notes?: string | undefined;
  /** Lock the device to this product firmware version. */
  readonly desiredFirmwareVersion?: number | undefined;
  /** YYYYMMDD: put the device in that day's date group (YYYYMMDD_XXXX). */
  readonly dateGroup?: string | undefined;
}

type Row = {
  id: number;
  product_id: string;
  device_id: string;
  action: OutboxAction;
  payload: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number;
  outcome: string | null;
  last_error_code: string | null;
  last_error_message: string | null;
  created_at: string;
  updated_at: string;
  done_at: string | null;
};

const toEntry = (r: Row): OutboxEntry => ({
  id: r.id,
  productId: r.product_id,
  deviceId: r.device_id,
  action: r.action,
  settings: JSON.parse(r.payload) as OutboxSettings,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  outcome: r.outcome,
  lastErrorCode: r.last_error_code,
  lastErrorMessage: r.last_error_message,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  doneAt: r.done_at,
});

/** Device IDs are hex and reported in either case; one spelling keeps (product, device) unique. */
export const normalizeDeviceId = (id: string): string => id.trim().toLowerCase();

// Wake-on-enqueue: a drain in this process subscribes to the database handle it drains.
const listeners = new WeakMap<DatabaseSync, Set<() => void>>();

/** Calls `listener` after each enqueue that created or re-armed work on this handle. */
export const onEnqueue = (db: DatabaseSync, listener: () => void): (() => void) => {
  let set = listeners.get(db);
  if (!set) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(listener);
  return () => set.delete(listener);
};

/** The payload of each action a request needs; actions with nothing to do are left out. */
const payloadsFor = (req: RegistrationRequest): Map<OutboxAction, OutboxSettings> => {
  const out = new Map<OutboxAction, OutboxSettings>();
  out.set('import', req.importSims ? { importSims: true } : {});
  if (req.importSims) out.set('sim', req.iccid ? { iccid: req.iccid } : {});
  const update: { -readonly [K in keyof OutboxSettings]: OutboxSettings[K] } = {};
  if (req.name) update.name = req.name;
  if (req.notes) update.notes = req.notes;
  if (req.development === true) update.development = true;
  if (req.desiredFirmwareVersion !== undefined) update.desiredFirmwareVersion = req.desiredFirmwareVersion;
  if (Object.keys(update).length > 0) out.set('update', update);
  const groups: { -readonly [K in keyof OutboxSettings]: OutboxSettings[K] } = {};
  if (req.groups && req.groups.length > 0) groups.groups = [...new Set(req.groups)].sort();
  if (req.dateGroup) groups.dateGroup = req.dateGroup;
  if (Object.keys(groups).length > 0) out.set('groups', groups);
  return out;
};

/** Key-sorted JSON, so equal payloads compare equal as text. */
const payloadText = (p: OutboxSettings): string =>
  JSON.stringify(Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

/**
 * Whether a request re-arms an entry that exists: a failed or blocked one always (the engineer
 * fixed something and retried the device); a pending or done one when what it carries changed.
 * A device keeps the date group of its first registration: re-registering it another day does not
 * move it (membership only grows, so it would end up in two shipments).
 */
const rearm = (
  action: OutboxAction,
  state: OutboxState,
  was: OutboxSettings,
  next: OutboxSettings,
): OutboxSettings | undefined => {
  if (action === 'groups' && was.dateGroup && next.dateGroup && was.dateGroup !== next.dateGroup)
    next = { ...next, dateGroup: was.dateGroup };
  if (state === 'failed' || state === 'blocked') return next;
  if (action === 'import' || action === 'sim') {
    // Asking for the SIM now re-arms an import that went without it; nothing else does.
    return action === 'import' && next.importSims && !was.importSims && state !== 'done' ? next : undefined;
  }
  return payloadText(was) === payloadText(next) ? undefined : next;
};

/**
 * Queues a device for registration: an import (with its SIM for cellular products), then, once the
 * import is acknowledged, the per-device update (name, notes, development, firmware lock) and the
 * group memberships. Idempotent per (product, device, action): an entry already pending or done
 * is left alone unless what it carries changed; a failed or blocked one is re-armed.
 * Returns the actions that now have work to do.
 */
export const enqueueRegistration = (
  db: DatabaseSync,
  req: RegistrationRequest,
  now: number = Date.now(),
): { armed: OutboxAction[] } => {
  const productId = String(req.productId);
  const deviceId = normalizeDeviceId(req.deviceId);
  const iso = new Date(now).toISOString();
  const armed: OutboxAction[] = [];
  transaction(db, () => {
    const existing = new Map(
      (
        db
          .prepare('SELECT * FROM outbox WHERE product_id = ? AND device_id = ?')
          .all(productId, deviceId) as Row[]
      ).map((r) => [r.action, toEntry(r)]),
    );
    const insert = db.prepare(`
      INSERT INTO outbox (product_id, device_id, action, payload, state, next_attempt_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`);
    const reset = db.prepare(`
      UPDATE outbox SET state = 'pending', payload = ?, attempts = 0, next_attempt_at = ?,
        last_error_code = NULL, last_error_message = NULL, outcome = NULL, done_at = NULL, updated_at = ?
      WHERE id = ?`);
    for (const [action, payload] of payloadsFor(req)) {
      const was = existing.get(action);
      if (!was) {
        insert.run(productId, deviceId, action, payloadText(payload), now, iso, iso);
        armed.push(action);
        continue;
      }
      const next = rearm(action, was.state, was.settings, payload);
      if (next === undefined) continue;
      reset.run(payloadText(next), now, iso, was.id);
      armed.push(action);
    }
  });
  if (armed.length > 0) for (const l of listeners.get(db) ?? []) l();
  return { armed };
};

export interface OutboxFilter {
  readonly productId?: string;
  readonly state?: OutboxState;
  readonly limit?: number;
}

export const listOutbox = (db: DatabaseSync, filter: OutboxFilter = {}): OutboxEntry[] => {
  const where = whereEqual({ product_id: filter.productId, state: filter.state });
  const limit = filter.limit ? ` LIMIT ${Math.max(1, Math.floor(filter.limit))}` : '';
  return (
    db.prepare(`SELECT * FROM outbox ${where.sql} ORDER BY id${limit}`).all(...where.args) as Row[]
  ).map(toEntry);
};

/**
 * Entries ready to send: pending imports due now, and pending settings due now whose device's
 * import is done (settings on a device the product does not hold yet would 404).
 * `ignoreSchedule` (a manual sync) takes every pending entry regardless of its backoff.
 */
export const dueOutboxEntries = (
  db: DatabaseSync,
  now: number,
  opts: { ignoreSchedule?: boolean; productId?: string } = {},
): OutboxEntry[] => {
  const rows = db
    .prepare(`
      SELECT o.* FROM outbox o
      WHERE o.state = 'pending' AND (? OR o.next_attempt_at <= ?) AND (? IS NULL OR o.product_id = ?)
        AND (o.action = 'import' OR EXISTS (
          SELECT 1 FROM outbox i WHERE i.product_id = o.product_id AND i.device_id = o.device_id
            AND i.action = 'import' AND i.state = 'done'))
      ORDER BY o.next_attempt_at, o.id
    `)
    .all(opts.ignoreSchedule ? 1 : 0, now, opts.productId ?? null, opts.productId ?? null) as Row[];
  return rows.map(toEntry);
};

/** The pending entries of one action for these devices of a product (the SIMs an import carries). */
export const pendingEntriesOf = (
  db: DatabaseSync,
  productId: string,
  action: OutboxAction,
  deviceIds: readonly string[],
): OutboxEntry[] =>
  deviceIds.length === 0
    ? []
    : (
        db
          .prepare(`
            SELECT * FROM outbox WHERE product_id = ? AND action = ? AND state = 'pending'
              AND device_id IN (SELECT value FROM json_each(?)) ORDER BY id`)
          .all(productId, action, JSON.stringify(deviceIds.map(normalizeDeviceId))) as Row[]
      ).map(toEntry);

/** When the next pending entry falls due (epoch ms), or undefined when nothing is pending. */
export const nextOutboxDueAt = (db: DatabaseSync): number | undefined => {
  const row = db.prepare(`SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state = 'pending'`).get() as {
    t: number | null;
  };
  return row.t ?? undefined;
};

export type OutboxSettle =
  | {
      readonly id: number;
      readonly state: 'done';
      readonly outcome: string;
      /**
       * For settings: the payload that was sent. If the entry was re-armed with other settings
       * while the request was in flight, it stays pending so the new settings go too.
       */
      readonly sentPayload?: OutboxSettings;
    }
  | {
      readonly id: number;
      readonly state: 'failed' | 'blocked';
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly id: number;
      readonly state: 'pending';
      readonly code: string;
      readonly message: string;
      readonly nextAttemptAt: number;
    };

/**
 * Writes the outcome of one cloud exchange for all entries it carried, in one transaction, and
 * counts the attempt. Only after this returns may the UI or the log hear about it.
 */
export const settleOutbox = (
  db: DatabaseSync,
  updates: readonly OutboxSettle[],
  now: number = Date.now(),
): void => {
  if (updates.length === 0) return;
  const iso = new Date(now).toISOString();
  transaction(db, () => {
    const done = db.prepare(`
      UPDATE outbox SET state = 'done', outcome = ?, attempts = attempts + 1, done_at = ?, updated_at = ?,
        last_error_code = NULL, last_error_message = NULL
      WHERE id = ? AND state = 'pending' AND (? IS NULL OR payload = ?)`);
    const stop = db.prepare(`
      UPDATE outbox SET state = ?, attempts = attempts + 1, last_error_code = ?, last_error_message = ?, updated_at = ?
      WHERE id = ? AND state = 'pending'`);
    const retry = db.prepare(`
      UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error_code = ?, last_error_message = ?,
        updated_at = ?
      WHERE id = ? AND state = 'pending'`);
    for (const u of updates) {
      if (u.state === 'done') {
        const sent = u.sentPayload === undefined ? null : payloadText(u.sentPayload);
        done.run(u.outcome, iso, iso, u.id, sent, sent);
      } else if (u.state === 'pending') retry.run(u.nextAttemptAt, u.code, u.message, iso, u.id);
      else stop.run(u.state, u.code, u.message, iso, u.id);
    }
  });
};

/**
 * Re-arms blocked entries (after the engineer fixed the token, scope or product). Returns how many.
 */
export const unblockOutbox = (db: DatabaseSync, productId?: string, now: number = Date.now()): number => {
  const r = db
    .prepare(`
      UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ?
      WHERE state = 'blocked' AND (? IS NULL OR product_id = ?)`)
    .run(now, new Date(now).toISOString(), productId ?? null, productId ?? null);
  const n = Number(r.changes);
  if (n > 0) for (const l of listeners.get(db) ?? []) l();
  return n;
};

export type RegistrationState =
  | { readonly state: 'none' }
  | {
      readonly state: 'queued';
      readonly attempts: number;
      readonly lastErrorCode: string | null;
      readonly lastErrorMessage: string | null;
    }
  | { readonly state: 'registered'; readonly outcome: string; readonly doneAt: string }
  | {
      /**
       * The device is in the product (and named, grouped, locked as asked), but the cloud refused
       * its SIM: `code`/`message` carry the cloud's reason. The device cannot connect until the
       * SIM is sorted out (see docs/cloud.md).
       */
      readonly state: 'sim-failed';
      readonly outcome: string;
      readonly doneAt: string;
      readonly code: string;
      readonly message: string;
    }
  | { readonly state: 'failed' | 'blocked'; readonly code: string; readonly message: string };

export type RegistrationStateName = RegistrationState['state'];

/**
 * One device's registration as the station shows it, from its outbox rows: failed or blocked as
 * soon as the import, update or groups entry is; queued while any entry is pending; sim-failed when
 * everything went through but the SIM; registered when every entry was acknowledged.
 */
export const registrationStateOf = (rows: readonly OutboxEntry[]): RegistrationState => {
  if (rows.length === 0) return { state: 'none' };
  const main = rows.filter((r) => r.action !== 'sim');
  for (const s of ['failed', 'blocked'] as const) {
    const bad =
      main.find((r) => r.state === s) ?? (s === 'blocked' ? rows.find((r) => r.state === s) : undefined);
    if (bad) return { state: s, code: bad.lastErrorCode ?? 'UNKNOWN', message: bad.lastErrorMessage ?? '' };
  }
  const pending = rows.filter((r) => r.state === 'pending');
  if (pending.length > 0) {
    const last = pending.find((r) => r.lastErrorCode !== null) ?? pending[0];
    return {
      state: 'queued',
      attempts: Math.max(...pending.map((r) => r.attempts)),
      lastErrorCode: last?.lastErrorCode ?? null,
      lastErrorMessage: last?.lastErrorMessage ?? null,
    };
  }
  const imp = rows.find((r) => r.action === 'import');
  const doneAt =
    rows
      .map((r) => r.doneAt ?? '')
      .sort()
      .at(-1) ?? '';
  const outcome = imp?.outcome ?? 'applied';
  const sim = rows.find((r) => r.action === 'sim' && r.state === 'failed');
  if (sim)
    return {
      state: 'sim-failed',
      outcome,
      doneAt,
      code: sim.lastErrorCode ?? 'CLOUD_SIM_REJECTED',
      message: sim.lastErrorMessage ?? '',
    };
  return { state: 'registered', outcome, doneAt };
};

/** One device's registration as the station shows it (see registrationStateOf). */
export const registrationState = (
  db: DatabaseSync,
  productId: string | number,
  deviceId: string,
): RegistrationState =>
  registrationStateOf(
    (
      db
        .prepare('SELECT * FROM outbox WHERE product_id = ? AND device_id = ? ORDER BY action')
        .all(String(productId), normalizeDeviceId(deviceId)) as Row[]
    ).map(toEntry),
  );

/**
 * Every device's registration state in a product, in one query (exports, the batch view). Same
 * rule as registrationState; devices without entries are absent.
 */
export const registrationStates = (
  db: DatabaseSync,
  productId: string | number,
): Map<string, RegistrationStateName> => {
  const byDevice = new Map<string, OutboxEntry[]>();
  for (const r of (
    db.prepare('SELECT * FROM outbox WHERE product_id = ? ORDER BY id').all(String(productId)) as Row[]
  ).map(toEntry))
    byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), r]);
  return new Map([...byDevice].map(([id, rows]) => [id, registrationStateOf(rows).state]));
};

export type OutboxCounts = Record<OutboxState, number>;

export const outboxCounts = (db: DatabaseSync, productId?: string): OutboxCounts => {
  const counts: OutboxCounts = { pending: 0, done: 0, failed: 0, blocked: 0 };
  const rows = db
    .prepare('SELECT state, COUNT(*) AS n FROM outbox WHERE (? IS NULL OR product_id = ?) GROUP BY state')
    .all(productId ?? null, productId ?? null) as { state: OutboxState; n: number }[];
  for (const r of rows) counts[r.state] = r.n;
  return counts;
};

/** Deletes done entries acknowledged before `before` (epoch ms). Never touches unacknowledged work. */
export const pruneOutbox = (db: DatabaseSync, before: number): number =>
  Number(
    db.prepare(`DELETE FROM outbox WHERE state = 'done' AND done_at < ?`).run(new Date(before).toISOString())
      .changes,
  );

/**
 * Blocks every pending entry of a product after a configuration error (token, scope, unknown
 * product): sending more would fail the same way, and hammering the cloud with a bad token can
 * get the station rate limited. Returns how many entries were blocked.
 */
export const blockProductOutbox = (
  db: DatabaseSync,
  productId: string,
  code: string,
  message: string,
  now: number = Date.now(),
): number =>
  Number(
    db
      .prepare(`
        UPDATE outbox SET state = 'blocked', last_error_code = ?, last_error_message = ?, updated_at = ?
        WHERE state = 'pending' AND product_id = ?`)
      .run(code, message, new Date(now).toISOString(), productId).changes,
  );

/**
 * Per product, when its earliest sendable entry falls due (epoch ms). Settings waiting for their
 * import are not sendable and so do not count: a drain sleeping on them would spin.
 */
export const nextOutboxDueByProduct = (db: DatabaseSync): Map<string, number> => {
  const rows = db
    .prepare(`
      SELECT o.product_id AS p, MIN(o.next_attempt_at) AS t FROM outbox o
      WHERE o.state = 'pending' AND (o.action = 'import' OR EXISTS (
        SELECT 1 FROM outbox i WHERE i.product_id = o.product_id AND i.device_id = o.device_id
          AND i.action = 'import' AND i.state = 'done'))
      GROUP BY o.product_id`)
    .all() as { p: string; t: number }[];
  return new Map(rows.map((r) => [r.p, r.t]));
};

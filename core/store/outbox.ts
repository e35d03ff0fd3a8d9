import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { transaction } from './database';

// The durable registration outbox. The store knows nothing about HTTP: the drain
// (core/cloud/outbox-drain.ts) reads due entries, talks to the cloud and writes outcomes back
// through `settleOutbox`, which commits before anyone is told.

export type OutboxAction = 'import' | 'settings';
/**
 * - pending: waiting to be sent (at or after nextAttemptAt);
 * - done: the cloud acknowledged it (kept for history; see pruneOutbox);
 * - failed: the cloud said it will never work (invalid, non-member, protected, bad request);
 * - blocked: a configuration error (token, scope, product) stopped it until an engineer acts.
 */
export type OutboxState = 'pending' | 'done' | 'failed' | 'blocked';

export interface OutboxSettings {
  readonly development?: boolean;
  readonly groups?: readonly string[];
}

export interface OutboxEntry {
  readonly id: number;
  readonly productId: string;
  readonly deviceId: string;
  readonly action: OutboxAction;
  /** For 'settings' entries: what to apply. Empty for imports. */
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
  readonly development?: boolean;
  readonly groups?: readonly string[];
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

/** Settings worth a PUT: a development flag or groups. A plain production device needs none. */
const settingsFor = (req: RegistrationRequest): OutboxSettings | undefined => {
  const s: { development?: boolean; groups?: string[] } = {};
  if (req.development === true) s.development = true;
  if (req.groups && req.groups.length > 0) s.groups = [...req.groups].sort();
  return Object.keys(s).length > 0 ? s : undefined;
};

/**
 * Queues a device for registration: an import, and, when the device is a development device or
 * gets groups, a settings entry applied after the import is acknowledged. Idempotent: an entry
 * already pending or done is left alone; a failed or blocked one is re-armed (the engineer fixed
 * something and retried the device); settings that changed are re-sent.
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
  const settings = settingsFor(req);
  const armed: OutboxAction[] = [];
  transaction(db, () => {
    const upsert = db.prepare(`
      INSERT INTO outbox (product_id, device_id, action, payload, state, next_attempt_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)
      ON CONFLICT (product_id, device_id, action) DO UPDATE SET
        state = 'pending', payload = excluded.payload, attempts = 0, next_attempt_at = excluded.next_attempt_at,
        last_error_code = NULL, last_error_message = NULL, outcome = NULL, done_at = NULL,
        updated_at = excluded.updated_at
      WHERE outbox.state IN ('failed', 'blocked')
         OR (outbox.action = 'settings' AND outbox.payload <> excluded.payload)
    `);
    if (upsert.run(productId, deviceId, 'import', '{}', now, iso, iso).changes > 0) armed.push('import');
    if (
      settings &&
      upsert.run(productId, deviceId, 'settings', JSON.stringify(settings), now, iso, iso).changes > 0
    )
      armed.push('settings');
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
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  if (filter.productId !== undefined) {
    where.push('product_id = ?');
    args.push(filter.productId);
  }
  if (filter.state !== undefined) {
    where.push('state = ?');
    args.push(filter.state);
  }
  const sql = `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${
    filter.limit ? ` LIMIT ${Math.max(1, Math.floor(filter.limit))}` : ''
  }`;
  return (db.prepare(sql).all(...args) as Row[]).map(toEntry);
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
        const sent = u.sentPayload === undefined ? null : JSON.stringify(u.sentPayload);
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
  | { readonly state: 'failed' | 'blocked'; readonly code: string; readonly message: string };

/**
 * One device's registration as the station shows it: registered only when the import and any
 * settings were acknowledged; failed or blocked as soon as either part is.
 */
export const registrationState = (
  db: DatabaseSync,
  productId: string | number,
  deviceId: string,
): RegistrationState => {
  const rows = (
    db
      .prepare('SELECT * FROM outbox WHERE product_id = ? AND device_id = ? ORDER BY action')
      .all(String(productId), normalizeDeviceId(deviceId)) as Row[]
  ).map(toEntry);
  if (rows.length === 0) return { state: 'none' };
  for (const s of ['failed', 'blocked'] as const) {
    const bad = rows.find((r) => r.state === s);
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
  return { state: 'registered', outcome: imp?.outcome ?? 'applied', doneAt };
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

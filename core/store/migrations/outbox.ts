import type { Migration } from './types';

/**
 * The registration outbox: one row per (product, device, action), so enqueueing the same device
 * twice is a no-op. Rows are kept after the cloud acknowledges them (state 'done') because the
 * station shows and exports each device's registration; `pruneOutbox` removes old done rows.
 * `cloud_acceptance` records an engineer accepting that the released-firmware check was unknown.
 */
export const outboxMigration: Migration = {
  name: 'outbox-1',
  up(db) {
    db.exec(`
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        product_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('import', 'settings')),
        payload TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'blocked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        last_error_code TEXT,
        last_error_message TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        done_at TEXT,
        UNIQUE (product_id, device_id, action)
      );
      CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
      CREATE TABLE cloud_acceptance (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        product_id TEXT NOT NULL,
        check_name TEXT NOT NULL,
        check_result TEXT NOT NULL,
        accepted_by TEXT NOT NULL,
        reason TEXT,
        context TEXT,
        accepted_at TEXT NOT NULL
      );
    `);
  },
};

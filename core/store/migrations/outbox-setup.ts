import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './types';

/**
 * Cloud setup adds outbox actions beyond 'import' and 'settings': 'sim' (the device's SIM),
 * 'update' (name, notes, development flag, firmware lock) and 'groups' (batched memberships).
 * SQLite cannot change a CHECK constraint in place, so the table is rebuilt as SQLite's ALTER TABLE
 * guide describes: new table, copy, drop, rename. Whatever hangs on the table (its indexes, and
 * triggers such as the line feed's, which other steps own) is read from sqlite_master first and
 * put back as it was, and the AUTOINCREMENT counter is carried over so no ID is ever reused.
 */
export const outboxSetupMigration: Migration = {
  name: 'outbox-2-cloud-setup',
  up(db: DatabaseSync) {
    const dependents = db
      .prepare(`
        SELECT type, name, sql FROM sqlite_master
        WHERE sql IS NOT NULL AND type IN ('index', 'trigger', 'view') AND name <> 'outbox'
          AND (tbl_name = 'outbox' OR sql LIKE '%outbox%')
        ORDER BY CASE type WHEN 'index' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, name`)
      .all() as { type: 'index' | 'trigger' | 'view'; name: string; sql: string }[];
    const seq = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).get() as
      | { seq: number }
      | undefined;
    // Triggers and views on other tables that name outbox would stop the rename; drop them too.
    for (const d of dependents)
      if (d.type !== 'index')
        db.exec(`DROP ${d.type.toUpperCase()} IF EXISTS "${d.name.replace(/"/g, '""')}"`);
    db.exec(`
      CREATE TABLE outbox_next (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        product_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('import', 'sim', 'update', 'groups', 'settings')),
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
      INSERT INTO outbox_next (id, product_id, device_id, action, payload, state, attempts, next_attempt_at,
          outcome, last_error_code, last_error_message, created_at, updated_at, done_at)
        SELECT id, product_id, device_id, action, payload, state, attempts, next_attempt_at,
          outcome, last_error_code, last_error_message, created_at, updated_at, done_at FROM outbox;
      DROP TABLE outbox;
      ALTER TABLE outbox_next RENAME TO outbox;
    `);
    if (seq) {
      db.prepare(`UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'outbox'`).run(seq.seq);
      db.prepare(
        `INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')`,
      ).run(seq.seq);
    }
    for (const d of dependents) db.exec(d.sql);
  },
};

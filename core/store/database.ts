import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fail } from '../errors/result';
import { MIGRATIONS } from './migrations/index';
import type { Migration } from './migrations/types';

export type StoreErrorCode =
  | 'STORE_OPEN_FAILED'
  | 'STORE_READ_ONLY'
  | 'STORE_DISK_FULL'
  | 'STORE_MIGRATION_FAILED';

/** Maps SQLite's failure texts onto codes an engineer can act on. */
export const classifyStoreError = (e: unknown): { code: StoreErrorCode; message: string } => {
  const text = e instanceof Error ? e.message : String(e);
  if (/readonly|read-only|SQLITE_READONLY|EACCES|EROFS/i.test(text))
    return { code: 'STORE_READ_ONLY', message: `The data directory is read-only: ${text}` };
  if (/SQLITE_FULL|database or disk is full|ENOSPC/i.test(text))
    return { code: 'STORE_DISK_FULL', message: `The disk holding the data directory is full: ${text}` };
  return { code: 'STORE_OPEN_FAILED', message: `The station database could not be used: ${text}` };
};

/**
 * Opens (creating if needed) the station database in WAL mode with foreign keys on, and applies
 * any migrations not yet applied. `synchronous=FULL` because a factory log must survive a power
 * cut as well as a killed process.
 */
export const openDatabase = (file: string, migrations: readonly Migration[] = MIGRATIONS): DatabaseSync => {
  let db: DatabaseSync;
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new DatabaseSync(file);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  } catch (e) {
    const { code, message } = classifyStoreError(e);
    return fail(code, message, {
      remedy: 'Check that the data directory exists, is writable and has free space.',
    });
  }
  const applied = new Set(
    (db.prepare('SELECT name FROM schema_migrations').all() as { name: string }[]).map((r) => r.name),
  );
  for (const m of migrations) {
    if (applied.has(m.name)) continue;
    try {
      db.exec('BEGIN IMMEDIATE');
      m.up(db);
      db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(
        m.name,
        new Date().toISOString(),
      );
      db.exec('COMMIT');
    } catch (e) {
      // After SQLITE_FULL (and some I/O errors) SQLite has already rolled back; a second
      // ROLLBACK would throw and hide the real cause.
      if (db.isTransaction) db.exec('ROLLBACK');
      const { code, message } = classifyStoreError(e);
      return fail(
        code === 'STORE_OPEN_FAILED' ? 'STORE_MIGRATION_FAILED' : code,
        `Migration ${m.name}: ${message}`,
      );
    }
  }
  return db;
};

/** Runs `fn` in one IMMEDIATE transaction: all of it commits, or none of it. */
export const transaction = <T>(db: DatabaseSync, fn: () => T): T => {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
};

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { classifyStoreError, openDatabase, transaction } from '../../core/store/database';
import type { Migration } from '../../core/store/migrations/types';

const tempDb = (): string => join(mkdtempSync(join(tmpdir(), 'ls-db-')), 'nested', 'station.sqlite');

const table = (name: string): Migration => ({
  name,
  up: (db) => db.exec(`CREATE TABLE ${name.replace(/-/g, '_')} (id INTEGER PRIMARY KEY, v TEXT)`),
});

describe('openDatabase', () => {
  it('creates the folder, uses WAL, and applies each named migration exactly once', () => {
    const file = tempDb();
    const first = openDatabase(file, [table('one')]);
    expect(first.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    first.close();
    const again = openDatabase(file, [table('one'), table('two')]);
    const names = (
      again.prepare('SELECT name FROM schema_migrations ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
    expect(names).toEqual(['one', 'two']);
    again.close();
  });

  it('rolls a failing migration back and names it', () => {
    const file = tempDb();
    const broken: Migration = {
      name: 'broken',
      up: (db) => {
        db.exec('CREATE TABLE half (id INTEGER)');
        db.exec('THIS IS NOT SQL');
      },
    };
    expect(() => openDatabase(file, [broken])).toThrow(LsFailure);
    const db = openDatabase(file, []);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });
});

describe('transaction', () => {
  it('commits all or nothing', () => {
    const db = openDatabase(tempDb(), [table('t')]);
    expect(() =>
      transaction(db, () => {
        db.prepare('INSERT INTO t (v) VALUES (?)').run('a');
        throw new Error('midway');
      }),
    ).toThrow('midway');
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
    transaction(db, () => db.prepare('INSERT INTO t (v) VALUES (?)').run('b'));
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 1 });
    db.close();
  });

  it('surfaces a full disk as STORE_DISK_FULL, not as a failed ROLLBACK', () => {
    const db = openDatabase(tempDb(), [table('t')]);
    // A page cap makes SQLite report SQLITE_FULL exactly as a full disk does.
    const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    db.exec(`PRAGMA max_page_count = ${pages + 1}`);
    let caught: unknown;
    try {
      transaction(db, () => {
        for (let i = 0; i < 200; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run('x'.repeat(4000));
      });
    } catch (e) {
      caught = e;
    }
    expect(classifyStoreError(caught).code).toBe('STORE_DISK_FULL');
    expect(db.isTransaction).toBe(false);
    db.close();
  });
});

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { err, type LsError, ok, type Result } from '../errors/result';
import { classifyStoreError } from './database';

/**
 * One station process per data folder for the work that changes state (a running station, an
 * outbox drain). The lock is SQLite's own: an EXCLUSIVE lock on `station.lock`, held by an open
 * connection in exclusive locking mode. The operating system drops it with the process (kill -9,
 * power cut), so a dead holder can never block the next start. Who holds it is written beside it
 * in `station.lock.json`, for the message the second process prints; that file alone proves
 * nothing, which is why a leftover one only tells us the previous holder died without releasing.
 */

export type LockPurpose = 'station' | 'sync';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** What the holder runs, e.g. `linestation run --batch L1`. */
  readonly command: string;
  readonly purpose: LockPurpose;
  /** ISO time the lock was taken. */
  readonly since: string;
}

export interface StationLock {
  readonly holder: LockHolder;
  /** The previous holder's record, when it stopped without releasing (killed, power cut). */
  readonly tookOverFrom: LockHolder | undefined;
  release(): void;
}

export const lockPath = (dataDir: string): string => join(dataDir, 'station.lock');
export const holderPath = (dataDir: string): string => join(dataDir, 'station.lock.json');

const parseHolder = (text: string): LockHolder | undefined => {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.since !== 'string') return undefined;
    return {
      pid: v.pid,
      host: typeof v.host === 'string' ? v.host : '?',
      command: typeof v.command === 'string' ? v.command : '?',
      purpose: v.purpose === 'sync' ? 'sync' : 'station',
      since: v.since,
    };
  } catch {
    return undefined;
  }
};

/** The recorded holder of a data folder's lock, if any (read-only; any process may ask). */
export const readLockHolder = (dataDir: string): LockHolder | undefined => {
  try {
    return parseHolder(readFileSync(holderPath(dataDir), 'utf8'));
  } catch {
    return undefined;
  }
};

/** `linestation run --batch L1` rather than `/usr/bin/node /x/dist/cli.mjs run --batch L1`. */
export const describeCommand = (argv: readonly string[] = process.argv): string => {
  const script = argv[1] ? basename(argv[1]) : '';
  const name = /^(cli\.mjs|linestation(\.mjs)?)$/.test(script) ? 'linestation' : script || 'node';
  return [name, ...argv.slice(2)].join(' ').slice(0, 200);
};

export const describeHolder = (h: LockHolder): string =>
  `PID ${h.pid} on ${h.host} (${h.command}), since ${h.since.replace('T', ' ').slice(0, 19)}`;

const busyError = (dataDir: string, holder: LockHolder | undefined): LsError<'STATION_BUSY'> => {
  const who = holder ? describeHolder(holder) : 'another process (it has not recorded itself yet)';
  const what = holder?.purpose === 'sync' ? 'is registering queued devices' : 'is running a station';
  return err(
    'STATION_BUSY',
    `The data folder ${dataDir} is in use: ${who} ${what} on it. A second station on the same folder would corrupt its log and could flash devices twice.`,
    {
      remedy: holder
        ? `Use that station, or stop it first (Ctrl-C in its terminal, Stop in the app, or kill ${holder.pid}); read-only commands (batches, batch show, export, outbox) work meanwhile. To run a second station, give it its own --data-dir.`
        : 'Wait a moment and try again, or give this station its own --data-dir.',
      details: { dataDir, ...(holder ? { holder } : {}) },
    },
  ).error;
};

export interface AcquireOptions {
  readonly purpose: LockPurpose;
  readonly command?: string;
  readonly now?: () => Date;
}

/**
 * Takes the data folder's lock at once or refuses with STATION_BUSY naming the holder. Never
 * waits: an operator who double-clicked the app must be told now, not after a timeout.
 */
export const acquireStationLock = (dataDir: string, o: AcquireOptions): Result<StationLock> => {
  let db: DatabaseSync;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new DatabaseSync(lockPath(dataDir), { timeout: 0 });
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
  } catch (e) {
    const { code, message } = classifyStoreError(e);
    return err(code, message, { remedy: 'Check that the data directory exists and is writable.' });
  }
  try {
    // In exclusive locking mode the lock taken by this write transaction is kept until close.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS takeovers (at TEXT NOT NULL, pid INTEGER NOT NULL)');
    db.prepare('INSERT INTO takeovers (at, pid) VALUES (?, ?)').run(
      (o.now?.() ?? new Date()).toISOString(),
      process.pid,
    );
    db.exec(
      'DELETE FROM takeovers WHERE rowid NOT IN (SELECT rowid FROM takeovers ORDER BY rowid DESC LIMIT 100)',
    );
    db.exec('COMMIT');
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
    if (/locked|busy/i.test(text)) return { ok: false, error: busyError(dataDir, readLockHolder(dataDir)) };
    const { code, message } = classifyStoreError(e);
    return err(code, message, { remedy: 'Check that the data directory is writable and has free space.' });
  }

  // We hold the OS lock, so any holder record still there belongs to a process that is gone.
  const stale = readLockHolder(dataDir);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: o.command ?? describeCommand(),
    purpose: o.purpose,
    since: (o.now?.() ?? new Date()).toISOString(),
  };
  try {
    const tmp = `${holderPath(dataDir)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
    renameSync(tmp, holderPath(dataDir));
  } catch (e) {
    db.close();
    const { code, message } = classifyStoreError(e);
    return err(code, message, { remedy: 'Check that the data directory is writable and has free space.' });
  }
  let released = false;
  return ok({
    holder,
    tookOverFrom: stale && !(stale.pid === holder.pid && stale.host === holder.host) ? stale : undefined,
    release() {
      if (released) return;
      released = true;
      // The record goes first: whoever finds the lock free then finds no stale holder either.
      try {
        const current = readLockHolder(dataDir);
        if (current && current.pid === holder.pid && current.since === holder.since)
          rmSync(holderPath(dataDir), { force: true });
      } catch {
        // A record we could not remove is reported as a takeover by the next holder: harmless.
      }
      if (db.isOpen) db.close();
    },
  });
};

/** The audit line and the sentence for a takeover of a dead holder's lock. */
export const takeoverNotice = (from: LockHolder): string =>
  `Took over the data folder from ${describeHolder(from)}, which stopped without releasing it (killed or power cut).`;

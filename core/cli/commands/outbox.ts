import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { databasePath, resolveDataDir } from '../../store/data-dir';
import { openDatabase } from '../../store/database';
import { listOutbox, type OutboxEntry, type OutboxState, outboxCounts } from '../../store/outbox';
import { type CliIo, printJson } from '../io';
import type { RegisterCommand } from './index';

const STATES: readonly OutboxState[] = ['pending', 'done', 'failed', 'blocked'];

const when = (ms: number, now: number): string => {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return 'due now';
  if (s < 120) return `in ${s} s`;
  return `in ${Math.round(s / 60)} min`;
};

/** One line per entry: what an engineer scans to see what is stuck and why. */
export const formatOutboxLine = (e: OutboxEntry, now: number): string => {
  const what =
    e.action === 'import'
      ? e.settings.importSims
        ? 'import (with SIM)'
        : 'import'
      : Object.keys(e.settings).length > 0
        ? `${e.action} ${JSON.stringify(e.settings)}`
        : e.action;
  const state =
    e.state === 'pending'
      ? `pending (${when(e.nextAttemptAt, now)})`
      : e.state === 'done'
        ? `done (${e.outcome})`
        : e.state;
  const error = e.lastErrorCode ? `  last error ${e.lastErrorCode}: ${e.lastErrorMessage ?? ''}` : '';
  return `${e.productId}  ${e.deviceId}  ${what}  ${state}  attempts ${e.attempts}${error}`;
};

interface OutboxOptions {
  json?: boolean;
  dataDir?: string;
  state?: OutboxState;
  product?: string;
  limit?: number;
}

export const outboxCommand = (opts: OutboxOptions, io: CliIo): void => {
  const file = databasePath(resolveDataDir(opts.dataDir, io.env));
  // Listing must not create a database where there was none (a mistyped --data-dir).
  if (!existsSync(file)) {
    if (opts.json)
      printJson(io, { database: file, counts: { pending: 0, done: 0, failed: 0, blocked: 0 }, entries: [] });
    else io.out(`The outbox is empty (no station database at ${file}).`);
    return;
  }
  const db = openDatabase(file);
  try {
    const entries = listOutbox(db, {
      ...(opts.state ? { state: opts.state } : {}),
      ...(opts.product ? { productId: opts.product } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
    });
    const counts = outboxCounts(db, opts.product);
    if (opts.json) {
      printJson(io, { database: file, counts, entries });
      return;
    }
    const now = Date.now();
    for (const e of entries) io.out(formatOutboxLine(e, now));
    io.out(
      `${counts.pending} pending, ${counts.done} done, ${counts.failed} failed, ${counts.blocked} blocked (${file})`,
    );
    if (counts.blocked > 0)
      io.out(
        'Blocked entries wait for a configuration fix (token, scope, product); then run "linestation sync".',
      );
  } finally {
    db.close();
  }
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('outbox')
    .description('list the registration outbox: each device, its state, attempts and last error')
    .option('--json', 'print counts and entries as JSON')
    .option(
      '--data-dir <dir>',
      'station data directory (default: LINESTATION_DATA, else the OS app-data folder)',
    )
    .addOption(new Option('--state <state>', 'only entries in this state').choices(STATES))
    .option('--product <id>', 'only this product')
    .option('--limit <n>', 'at most this many entries', (v) => Math.max(1, Number.parseInt(v, 10) || 1))
    .action((opts: OutboxOptions) => outboxCommand(opts, io));
};

import { afterAll, beforeAll } from 'vitest';
import {
  startTempCluster,
  type TempCluster,
  type TempClusterOptions,
  tempClusterUnavailable,
} from '../../core/line-db/temp-cluster';

/*
 * A temporary PostgreSQL cluster for a test file (the supervisor view and the demo tests use it
 * too). Usage:
 *
 *   const pg = withPgCluster();
 *   describe.skipIf(pgSkip)('…', () => { it('…', async () => { await pg().sql('SELECT 1'); }); });
 *
 * The cluster starts once per file (about 0.7 s) on a free loopback port, as the `postgres` user
 * when we are root (initdb refuses root), and is stopped and deleted after the file's tests.
 */

/** Why the tests that need PostgreSQL are skipped here, or undefined when they run. */
export const pgSkipReason: string | undefined = tempClusterUnavailable();
export const pgSkip = pgSkipReason !== undefined;

let warned = false;
if (pgSkipReason && !warned) {
  warned = true;
  console.warn(`[line-db] skipping the tests that need PostgreSQL: ${pgSkipReason}.`);
}

/** Starts a cluster before the file's tests and removes it after; returns its getter. */
export const withPgCluster = (options: TempClusterOptions = {}): (() => TempCluster) => {
  let cluster: TempCluster | undefined;
  beforeAll(async () => {
    if (pgSkip) return;
    const started = await startTempCluster(options);
    if (!started.ok) throw new Error(`${started.error.code}: ${started.error.message}`);
    cluster = started.value;
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  }, 60_000);
  return () => {
    if (!cluster) throw new Error(`No PostgreSQL cluster: ${pgSkipReason ?? 'it did not start'}`);
    return cluster;
  };
};

/** A fresh, empty database on the cluster for one test (tests of a file then never see each other's rows). */
let dbCounter = 0;
export const freshDatabase = async (cluster: TempCluster, prefix = 't'): Promise<string> => {
  const name = `${prefix}_${process.pid}_${++dbCounter}`;
  await cluster.sql(`CREATE DATABASE ${name}`, [], 'postgres');
  return cluster.urlWith({ database: name });
};

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../../core/station/sim-faults';
import { enableLineFeed, lineFeedState } from '../../core/store/line-feed';
import { openLog, tempDir } from '../store/helpers';
import { expectExactlyStationRows, lineRows, query, writeHistory } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';

/*
 * kill -9 of a forwarding station process, many times, mid-forward: the station keeps logging
 * between the kills (as a real station would on restart), and in the end the line database holds
 * exactly the station's rows — every local row once, none missing, none extra, each with its
 * latest content. Kills that land after a PostgreSQL COMMIT but before the local acknowledgement
 * make the next process resend what is already there; the upserts make that harmless.
 */

const root = join(__dirname, '..', '..');
const node = join(root, 'node_modules', '.bin', 'node');
const KILLS = Number(process.env.LS_LINE_KILLS ?? 40);
const cluster = withPgCluster();

let bundleDir: string | undefined;
let bundle = '';
beforeAll(async () => {
  bundleDir = tempDir('ls-line-kill-');
  symlinkSync(join(root, 'node_modules'), join(bundleDir, 'node_modules'), 'dir');
  bundle = join(bundleDir, 'forward-child.mjs');
  await build({
    entryPoints: [join(__dirname, 'forward-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: bundle,
    logLevel: 'error',
  });
}, 60_000);

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

describe.skipIf(pgSkip)('kill -9 mid-forward', () => {
  it(`${KILLS} kills: the line database ends with exactly the station's rows`, async () => {
    const url = await freshDatabase(cluster());
    const dataDir = tempDir('ls-line-kill-data-');
    const { log } = openLog(dataDir);
    enableLineFeed(log.db);
    writeHistory(log, 'LOT-K0');
    const rnd = seeded(13);
    let stderr = '';
    let passes = 0;
    let resent = 0;
    let lot = 0;
    const start = () => {
      const child = spawn(node, ['--disable-warning=ExperimentalWarning', bundle, dataDir], {
        env: { ...process.env, LINESTATION_LINE_DB: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      return child;
    };

    for (let k = 0; k < KILLS; k++) {
      const child = start();
      // The station goes on logging while its forwarder runs.
      const writer = setInterval(() => writeHistory(log, `LOT-K${++lot}`), 3);
      // Kill after the n-th committed pass plus a random delay: inside the next pass, or between.
      const n = 1 + Math.floor(rnd() * 4);
      let seen = 0;
      await new Promise<void>((resolve) => {
        child.stdout?.on('data', (d: Buffer) => {
          seen += d.toString().split('\n').filter(Boolean).length;
          if (seen >= n) resolve();
        });
        child.once('exit', () => resolve());
        setTimeout(resolve, 5000);
      });
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 15)));
      child.kill('SIGKILL');
      await exited(child);
      clearInterval(writer);
      passes += seen;
      // A kill between COMMIT and the local acknowledgement: the line is ahead of the station's cursor.
      const [st] = (await query(url, 'SELECT forwarded_seq FROM linestation.stations')).rows;
      if (st && Number(st.forwarded_seq) > lineFeedState(log.db).ackedSeq) resent++;
    }

    // The last run: nothing more is written; it forwards everything and is killed once idle.
    const last = start();
    await expect.poll(() => lineFeedState(log.db).behind, { timeout: 60_000, interval: 50 }).toBe(0);
    last.kill('SIGKILL');
    await exited(last);

    expect(
      stderr.replace(/\(node:\d+\) ExperimentalWarning[^\n]*\n|\(Use `node --trace-warnings[^\n]*\n/g, ''),
    ).toBe('');
    const [station] = (await query(url, 'SELECT station_id::text FROM linestation.stations')).rows;
    const { attempts } = await expectExactlyStationRows(url, log.db, String(station?.station_id));
    expect(attempts).toBeGreaterThan(KILLS * 3);
    // Each row as the station holds it now (the newest change won every resend).
    const local = log.db.prepare('SELECT id, result, step, finished_at FROM attempts ORDER BY id').all() as {
      id: number;
      result: string;
      step: string | null;
      finished_at: string | null;
    }[];
    const remote = await lineRows(url, 'attempts');
    expect(
      remote.map((r) => ({
        id: Number(r.attempt_id),
        result: r.result,
        step: r.step,
        finished_at: r.finished_at ? (r.finished_at as Date).toISOString() : null,
      })),
    ).toEqual(local.map((r) => ({ ...r, id: Number(r.id) })));
    const batches = (await lineRows(url, 'batches')).map((b) => `${b.lot}:${b.state}`);
    expect(batches).toEqual(
      (
        log.db.prepare('SELECT lot, state FROM batches ORDER BY id').all() as { lot: string; state: string }[]
      ).map((b) => `${b.lot}:${b.state}`),
    );
    console.info(
      `[line-db kill] ${KILLS} kills, ${passes} passes committed before them, ${resent} kills between a COMMIT and its acknowledgement, ${attempts} attempts`,
    );
    expect(passes).toBeGreaterThan(KILLS);
    log.close();
  }, 300_000);
});

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../../core/station/sim-faults';
import { databasePath } from '../../core/store/data-dir';
import { tempDir } from '../store/helpers';
import { cliRig } from './cli-harness';

/*
 * Proof under crashes: `kill -9` of `linestation run` at 20 random moments of a 50-device
 * simulated batch, restarting each time. Every completed result survives, in-flight attempts
 * become interrupted, the mock cloud saw every device imported and never an import of a device
 * after its acknowledgment was committed, and the batch completes.
 */

const root = join(__dirname, '..', '..');
const node = join(root, 'node_modules', '.bin', 'node');
const KILLS = Number(process.env.LS_KILLS ?? 20);
const DEVICES = 50;
const LOT = 'LOT-KILL';

type Rig = Awaited<ReturnType<typeof cliRig>>;
let rig: Rig;
/**
 * A private CLI bundle, built once from the sources this test imports. Every run below executes
 * the same code the rig was locked with: through bin/linestation.mjs a run would rebuild
 * dist/cli.mjs whenever a file under core/ changed mid-test (a new readiness rule then refused the
 * batch with exit 3), and a kill could land while it was being written.
 */
let bundle: string;
let bundleDir: string | undefined;

beforeAll(async () => {
  rig = await cliRig({ slots: 4 });
  bundleDir = tempDir('ls-kill-cli-');
  // The bundle keeps its packages external: a node_modules link next to it resolves them.
  symlinkSync(join(root, 'node_modules'), join(bundleDir, 'node_modules'), 'dir');
  bundle = join(bundleDir, 'cli.mjs');
  const built = spawnSync(node, [join(root, 'scripts', 'build-cli.mjs'), bundle], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`CLI bundle did not build: ${built.stderr}`);
  const v = spawnSync(node, ['--disable-warning=ExperimentalWarning', bundle, '--version'], {
    encoding: 'utf8',
  });
  if (v.status !== 0) throw new Error(`CLI did not start: ${v.stderr}`);
}, 120_000);

/** Every run started; a test that fails or times out mid-run must not leave a station running. */
const children = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rig?.cloud.close();
  // Removes the link, not what it points to.
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

const start = (lot = LOT): ChildProcess => {
  const child = spawn(
    node,
    [
      // The bundle itself (not the launcher, which re-executes itself), so SIGKILL hits the station.
      '--disable-warning=ExperimentalWarning',
      bundle,
      'run',
      '--profile',
      rig.setup.profilePath,
      '--batch',
      lot,
      '--data-dir',
      rig.dataDir,
      '--simulate',
      String(DEVICES),
      '--time-scale',
      '0.01',
      '--operator',
      'ana',
      '--json',
    ],
    { env: { ...process.env, ...rig.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  return child;
};

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

type Row = { id: number; result: string; device_id: string | null };
const snapshot = (): Row[] => {
  const file = databasePath(rig.dataDir);
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare('SELECT id, result, device_id FROM attempts ORDER BY id').all() as Row[];
  } catch {
    return [];
  } finally {
    db.close();
  }
};

describe('kill -9 during a simulated batch', () => {
  it('keeps every result, marks in-flight attempts interrupted, never re-imports, and completes', async () => {
    const rnd = seeded(9);
    const completed = new Map<number, string>();
    const inFlight = new Set<number>();
    let stderr = '';
    let kills = 0;
    for (let k = 0; k < KILLS; k++) {
      const child = start();
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // A random moment inside the pipeline: after the n-th step event, plus a random delay.
      const n = 2 + Math.floor(rnd() * 15);
      const delay = Math.floor(rnd() * 200);
      let steps = 0;
      await new Promise<void>((resolve) => {
        child.stdout?.on('data', (d: Buffer) => {
          steps += d.toString().split('"type":"step"').length - 1;
          if (steps >= n) resolve();
        });
        child.once('exit', () => resolve());
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited(child);
      kills += child.signalCode === 'SIGKILL' ? 1 : 0;
      for (const row of snapshot()) {
        if (row.result === 'running') inFlight.add(row.id);
        else if (!completed.has(row.id)) completed.set(row.id, row.result);
      }
    }
    const last = start();
    let out = '';
    last.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    last.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await exited(last);
    expect(
      stderr.replace(/\(node:\d+\) ExperimentalWarning[^\n]*\n|\(Use `node --trace-warnings[^\n]*\n/g, ''),
    ).toBe('');
    expect(kills).toBe(KILLS);
    expect(code, `last run's output:\n${out.slice(-2000)}`).toBe(0);
    expect(out).toMatch(/"type": "summary"/);

    const db = new DatabaseSync(databasePath(rig.dataDir), { readOnly: true });
    try {
      const rows = db.prepare('SELECT id, result, device_id FROM attempts ORDER BY id').all() as Row[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      // Every result that was complete before a kill is still there, unchanged.
      for (const [id, result] of completed) expect(byId.get(id)?.result).toBe(result);
      // Attempts that were in flight at a kill ended as interrupted (or completed in that same run).
      for (const id of inFlight) if (!completed.has(id)) expect(byId.get(id)?.result).toBe('interrupted');
      expect(rows.filter((r) => r.result === 'running')).toEqual([]);
      expect(inFlight.size).toBeGreaterThan(0);
      const batch = db.prepare('SELECT state FROM batches WHERE lot = ?').get(LOT) as { state: string };
      expect(batch.state).toBe('closed');
      const passed = new Set(rows.filter((r) => r.result === 'pass').map((r) => r.device_id));
      expect(passed.size).toBe(DEVICES);

      // The cloud: every device imported, and none sent again after its acknowledgment was committed.
      const inCloud = new Set(rig.cloud.devices(4242).map((d) => d.id));
      for (const id of passed) expect(inCloud.has(id ?? '')).toBe(true);
      const acked = new Map(
        (
          db
            .prepare("SELECT device_id, done_at FROM outbox WHERE action = 'import' AND state = 'done'")
            .all() as {
            device_id: string;
            done_at: string;
          }[]
        ).map((r) => [r.device_id, Date.parse(r.done_at)]),
      );
      expect(acked.size).toBe(DEVICES);
      const late: string[] = [];
      for (const req of rig.cloud.requests()) {
        if (req.method !== 'POST' || !/\/devices$/.test(req.path)) continue;
        const body = req.body as { id?: string; ids?: string[] };
        for (const id of body.ids ?? (body.id ? [body.id] : [])) {
          const at = acked.get(id);
          if (at !== undefined && req.at > at) late.push(`${id} at ${req.at} after ack ${at}`);
        }
      }
      expect(late).toEqual([]);
    } finally {
      db.close();
    }
  }, 300_000);

  it('stops cleanly on Ctrl-C: in-flight attempts interrupted, batch paused, log intact', async () => {
    const child = start('LOT-SIGINT');
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('"type":"step"').length > 8) resolve();
      });
      child.once('exit', () => resolve());
    });
    child.kill('SIGINT');
    const code = await exited(child);
    expect(code, `output:\n${out.slice(-2000)}`).toBe(0);
    const db = new DatabaseSync(databasePath(rig.dataDir), { readOnly: true });
    try {
      const batch = db.prepare("SELECT id, state FROM batches WHERE lot = 'LOT-SIGINT'").get() as {
        id: number;
        state: string;
      };
      expect(batch.state).toBe('paused');
      const rows = db.prepare('SELECT result FROM attempts WHERE batch_id = ?').all(batch.id) as {
        result: string;
      }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((r) => r.result === 'running')).toEqual([]);
      expect(rows.some((r) => r.result === 'interrupted')).toBe(true);
    } finally {
      db.close();
    }
    expect(out).toMatch(/"stopReason": "interrupted"/);
  }, 120_000);
});

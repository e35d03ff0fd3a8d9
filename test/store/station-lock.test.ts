import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireStationLock,
  describeCommand,
  holderPath,
  type LockHolder,
  readLockHolder,
} from '../../core/store/station-lock';
import { tempDir } from './helpers';

const root = join(__dirname, '..', '..');
const node = join(root, 'node_modules', '.bin', 'node');

describe('acquireStationLock', () => {
  it('refuses a second holder at once with STATION_BUSY naming the first (PID, command, since)', () => {
    const dir = tempDir();
    const first = acquireStationLock(dir, { purpose: 'station', command: 'linestation run --batch A' });
    expect(first.ok).toBe(true);
    const second = acquireStationLock(dir, { purpose: 'station', command: 'linestation run --batch B' });
    expect(second.ok).toBe(false);
    if (second.ok || !first.ok) return;
    expect(second.error.code).toBe('STATION_BUSY');
    expect(second.error.message).toContain(`PID ${process.pid}`);
    expect(second.error.message).toContain('linestation run --batch A');
    expect(second.error.remedy).toContain('--data-dir');
    const holder = second.error.details?.holder as LockHolder;
    expect(holder.since).toBe(first.value.holder.since);
    // The refusal touched nothing of the holder's.
    expect(readLockHolder(dir)?.command).toBe('linestation run --batch A');
    first.value.release();
  });

  it('is free again after release, with no takeover reported and no holder record left', () => {
    const dir = tempDir();
    const a = acquireStationLock(dir, { purpose: 'sync' });
    if (!a.ok) throw new Error(a.error.message);
    a.value.release();
    expect(existsSync(holderPath(dir))).toBe(false);
    const b = acquireStationLock(dir, { purpose: 'station' });
    if (!b.ok) throw new Error(b.error.message);
    expect(b.value.tookOverFrom).toBeUndefined();
    b.value.release();
  });

  it('says a sync holds the folder when a sync does', () => {
    const dir = tempDir();
    const a = acquireStationLock(dir, { purpose: 'sync', command: 'linestation sync' });
    const b = acquireStationLock(dir, { purpose: 'station' });
    expect(b.ok ? '' : b.error.message).toContain('is registering queued devices');
    if (a.ok) a.value.release();
  });

  it('takes over a record left by a holder that died, and reports whose it was', () => {
    const dir = tempDir();
    const dead: LockHolder = {
      pid: 999_999,
      host: 'line-1',
      command: 'linestation run --batch OLD',
      purpose: 'station',
      since: '2026-12-01T08:00:00.000Z',
    };
    writeFileSync(holderPath(dir), JSON.stringify(dead));
    const a = acquireStationLock(dir, { purpose: 'station' });
    if (!a.ok) throw new Error(a.error.message);
    expect(a.value.tookOverFrom).toEqual(dead);
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    a.value.release();
  });

  it('names the CLI as linestation whatever path launched it', () => {
    expect(describeCommand(['/usr/bin/node', '/x/dist/cli.mjs', 'run', '--batch', 'L1'])).toBe(
      'linestation run --batch L1',
    );
  });
});

/** A child process that takes the lock through our module and holds it until killed. */
describe('a lock held by another process', () => {
  let script: string;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    script = join(tempDir('ls-lock-child-'), 'hold.mjs');
    await build({
      stdin: {
        contents: `import { acquireStationLock } from './core/store/station-lock';
const r = acquireStationLock(process.argv[2], { purpose: 'station', command: 'holder-child' });
console.log(JSON.stringify(r.ok ? { ok: true } : { ok: false, code: r.error.code }));
setInterval(() => {}, 1000);`,
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  const hold = (dir: string): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const child = spawn(node, ['--disable-warning=ExperimentalWarning', script, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.add(child);
      child.stdout?.once('data', (d: Buffer) => {
        const r = JSON.parse(d.toString()) as { ok: boolean };
        if (r.ok) resolve(child);
        else reject(new Error(`child could not lock: ${d}`));
      });
      child.once('error', reject);
    });

  it('refuses us while it lives, and is taken over (and reported) after kill -9', async () => {
    const dir = tempDir();
    const child = await hold(dir);
    const busy = acquireStationLock(dir, { purpose: 'station' });
    expect(busy.ok ? undefined : busy.error.code).toBe('STATION_BUSY');
    const holder = busy.ok ? undefined : (busy.error.details?.holder as LockHolder | undefined);
    expect(holder?.pid).toBe(child.pid);

    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    const after = acquireStationLock(dir, { purpose: 'station' });
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.tookOverFrom?.pid).toBe(child.pid);
    expect(after.value.tookOverFrom?.command).toBe('holder-child');
    after.value.release();
  }, 30_000);
});

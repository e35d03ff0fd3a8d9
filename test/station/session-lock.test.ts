import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holderPath, readLockHolder } from '../../core/store/station-lock';
import { openLog } from '../store/helpers';
import { cliRig, runArgs } from './cli-harness';

/*
 * One station per data folder: a second `run` (or a `sync`) while a station runs is refused at
 * once with STATION_BUSY and touches nothing of the first; read-only commands keep working.
 * Before the lock, the second run marked the first one's in-flight attempts interrupted.
 */

type Rig = Awaited<ReturnType<typeof cliRig>>;
let rig: Rig;
beforeAll(async () => {
  rig = await cliRig({ slots: 4 });
});
afterAll(async () => {
  await rig?.cloud.close();
});

const until = async (what: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a second station on the same data folder', () => {
  it('is refused with STATION_BUSY while the first runs, and the first passes untouched', async () => {
    // A slower clock than the harness default so the first station is still at work below.
    const first = rig.cli(runArgs(rig, 'LOT-A', ['--simulate', '6', '--time-scale', '0.05', '--json']));
    await until(() => readLockHolder(rig.dataDir) !== undefined);

    const second = await rig.cli(runArgs(rig, 'LOT-A', ['--simulate', '2', '--json']));
    expect(second.code).toBe(3);
    const refusal = JSON.parse(second.out.join('\n')) as { code: string; message: string };
    expect(refusal.code).toBe('STATION_BUSY');
    expect(refusal.message).toContain(`PID ${process.pid}`);

    const sync = await rig.cli(['sync', '--data-dir', rig.dataDir, '--profile', rig.setup.profilePath]);
    expect(sync.code).toBe(3);
    expect(sync.err.join('\n')).toContain('STATION_BUSY');

    // Read-only commands work meanwhile, and do not end the running station's attempts.
    const batches = await rig.cli(['batches', '--data-dir', rig.dataDir, '--json']);
    expect(batches.code).toBe(0);
    const show = await rig.cli(['batch', 'show', 'LOT-A', '--data-dir', rig.dataDir, '--json']);
    expect(show.code).toBe(0);
    const outbox = await rig.cli(['outbox', '--data-dir', rig.dataDir, '--json']);
    expect(outbox.code).toBe(0);

    const done = await first;
    expect(done.code).toBe(0);
    const { log } = openLog(rig.dataDir);
    const attempts = log.attempts(log.requireBatch('LOT-A').id);
    log.close();
    expect(attempts.filter((a) => a.result === 'interrupted')).toEqual([]);
    expect(attempts.filter((a) => a.result === 'pass')).toHaveLength(6);
    // Released on exit: the next station starts.
    expect(readLockHolder(rig.dataDir)).toBeUndefined();
  }, 120_000);

  it('takes over a lock whose holder died (kill -9, power cut), says so and audits it', async () => {
    const dead = {
      pid: 999_999,
      host: 'line-1',
      command: 'linestation run --batch LOT-OLD',
      purpose: 'station',
      since: '2026-12-01T08:00:00.000Z',
    };
    writeFileSync(holderPath(rig.dataDir), JSON.stringify(dead));
    const run = await rig.cli(runArgs(rig, 'LOT-B', ['--simulate', '1', '--json']));
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.out.find((l) => l.includes('"type": "batch"')) ?? '{}') as {
      tookOverFrom?: { pid: number };
    };
    expect(batch.tookOverFrom?.pid).toBe(999_999);
    const { log } = openLog(rig.dataDir);
    const audit = log.audit().filter((a) => a.action === 'station-lock-takeover');
    log.close();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0])).toContain('999999');
  }, 60_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { cliRig, runArgs } from '../../station/cli-harness';

/*
 * `linestation batch` (core/cli/commands/batch.ts): show, pause, resume and close, with the audit
 * trail, on a batch made by a simulated `linestation run` against a loopback mock cloud.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const rig = async () => {
  const r = await cliRig();
  closers.push(() => r.cloud.close());
  return r;
};

describe('linestation batch pause/resume/close', () => {
  it('moves a batch through its lifecycle and records who did it', async () => {
    const r = await rig();
    // One device of five: the run stops short of its target (exit 5) and leaves the batch paused.
    expect((await r.cli(runArgs(r, 'LOT-L', ['--simulate', '1', '--count', '5']))).code).toBe(5);
    const dd = ['--data-dir', r.dataDir, '--by', 'eng'];
    expect((await r.cli(['batch', 'resume', 'LOT-L', ...dd])).out).toEqual(['Batch LOT-L is running.']);
    expect((await r.cli(['batch', 'close', 'LOT-L', ...dd])).out).toEqual(['Batch LOT-L is closed.']);
    const again = await r.cli(['batch', 'resume', 'LOT-L', ...dd]);
    expect(again.code).toBe(2);
    expect(again.err.join('\n')).toMatch(/BATCH_CLOSED/);
    const run = await r.cli(runArgs(r, 'LOT-L', ['--simulate', '1']));
    expect(run.code).toBe(3);
    const show = await r.cli(['batch', 'show', 'LOT-L', '--json', '--data-dir', r.dataDir]);
    const audit = (JSON.parse(show.out.join('\n')) as { audit: { action: string; actor: string }[] }).audit;
    expect(audit.map((a) => `${a.action}:${a.actor}`)).toEqual([
      'batch-start:ana',
      'batch-pause:ana',
      'batch-resume:eng',
      'batch-close:eng',
    ]);
  });

  it('reports an unknown lot with exit 2 in show and export', async () => {
    const r = await rig();
    expect((await r.cli(['batch', 'show', 'NOPE', '--data-dir', r.dataDir])).code).toBe(2);
    const e = await r.cli(['export', 'NOPE', '--data-dir', r.dataDir]);
    expect(e.code).toBe(2);
    expect(e.err.join('\n')).toMatch(/BATCH_NOT_FOUND/);
  });
});

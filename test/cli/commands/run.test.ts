import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../core/cli/main';
import { startMockCloud } from '../../../core/cloud/mock-server';
import { loadProfile } from '../../../core/station/profile';
import { lockProfile } from '../../../core/station/profile-lock';
import { parseCsvLine } from '../../../core/store/export';
import { captureIo, cliRig, runArgs } from '../../station/cli-harness';

/*
 * `linestation run` (core/cli/commands/run.ts) through runCli with the real core on the simulated
 * bus and a loopback mock cloud; the first test also reads the finished batch back through
 * `batches`, `batch show` and `export`, so the commands are shown to agree with one another.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const rig = async (o: { slots?: number } = {}) => {
  const r = await cliRig(o);
  closers.push(() => r.cloud.close());
  return r;
};

describe('linestation run --simulate', () => {
  it('passes every device, registers them, and the log, batches, show and export agree', async () => {
    const r = await rig();
    const run = await r.cli(runArgs(r, 'LOT-A', ['--simulate', '6']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(6);
    expect(run.out.join('\n')).toMatch(/Batch complete\./);
    expect(r.cloud.devices(4242)).toHaveLength(6);

    const list = await r.cli(['batches', '--data-dir', r.dataDir, '--json']);
    const rows = JSON.parse(list.out.join('\n')) as {
      batch: { lot: string; state: string };
      stats: { devicesPassed: number };
    }[];
    expect(rows.map((x) => [x.batch.lot, x.batch.state, x.stats.devicesPassed])).toEqual([
      ['LOT-A', 'closed', 6],
    ]);

    const show = await r.cli(['batch', 'show', 'LOT-A', '--data-dir', r.dataDir]);
    expect(show.out.join('\n')).toMatch(/yield 100\.0%/);

    const csv = await r.cli(['export', 'LOT-A', '--format', 'csv', '--data-dir', r.dataDir]);
    const lines = csv.out.join('\n').trimEnd().split(/\r?\n/);
    expect(lines).toHaveLength(7);
    const header = parseCsvLine(lines[0] ?? '');
    const reg = header.indexOf('registration_state');
    expect(lines.slice(1).map((l) => parseCsvLine(l)[reg])).toEqual(Array(6).fill('registered'));

    const json = await r.cli(['export', 'LOT-A', '--format', 'json', '--data-dir', r.dataDir]);
    expect((JSON.parse(json.out.join('\n')) as unknown[]).length).toBe(6);
  });

  it('exits 4 when a device can never pass (wrong platform), and says to set it aside', async () => {
    const r = await rig({ slots: 2 });
    const run = await r.cli(runArgs(r, 'LOT-W', ['--simulate', '2', '--sim-faults', 'wrong-platform=1']));
    expect(run.code).toBe(4);
    expect(run.out.join('\n')).toMatch(
      /FAIL at identify: Wrong device type \(WRONG_PLATFORM\)\. Set aside: wrong platform/,
    );
  });

  it('refuses to start (exit 3) when a firmware file was tampered with after locking', async () => {
    const r = await rig();
    appendFileSync(r.setup.firmwarePath, Buffer.from([0]));
    const run = await r.cli(runArgs(r, 'LOT-T', ['--simulate', '1']));
    expect(run.code).toBe(3);
    expect(run.err.join('\n')).toMatch(/FIRMWARE_CHANGED: TAMPERED/);
    expect(run.out).toEqual([]);
  });

  it('refuses to start (exit 3) without a valid token unless offline is accepted', async () => {
    // The demo product with its token variable unset: refused, then accepted as offline by an engineer.
    const bare = await cliRig();
    closers.push(() => bare.cloud.close());
    const c = captureIo({ LINESTATION_DEMO_TOKEN: '' });
    const args = runArgs(bare, 'LOT-P', ['--simulate', '1']);
    expect(await runCli(args, c.io)).toBe(3);
    expect(c.errs.join('\n')).toMatch(/TOKEN_NOT_VALID/);
    const c2 = captureIo({ LINESTATION_DEMO_TOKEN: '' });
    expect(await runCli([...args, '--offline', '--accept', 'offline', '--engineer', 'eng'], c2.io)).toBe(0);
    expect(c2.out.join('\n')).toMatch(/PASS in .* \(queued\)/);
  });
});

describe('linestation run on a terminal', () => {
  it('draws a live line per slot and prints each result above it', async () => {
    const r = await rig({ slots: 2 });
    const run = await r.cli(runArgs(r, 'LOT-TTY', ['--simulate', '2']), true);
    expect(run.code).toBe(0);
    const text = run.out.join('\n');
    // Each slot's line is rewritten in place (erase line), labelled by slot.
    const ESC = String.fromCharCode(27);
    expect(text).toContain(`${ESC}[2K[ 1] `);
    expect(text).toContain(`${ESC}[2K[ 2] `);
    // Results clear the block and scroll above it.
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(2);
    expect(run.out.some((l) => l.startsWith(ESC) && l.includes(`${ESC}[0J`) && / PASS in /.test(l))).toBe(
      true,
    );
  });
});

describe('linestation run, OTA on setup', () => {
  it('identifies and registers each device with its groups, PASS pending OTA', async () => {
    const r = await cliRig({ mode: 'ota-on-setup', slots: 2 });
    closers.push(() => r.cloud.close());
    const run = await r.cli(runArgs(r, 'LOT-OTA', ['--simulate', '3']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => /PASS in .*pending OTA/.test(l))).toHaveLength(3);
    expect(run.out.some((l) => / (flash|ensure-dfu)$/.test(l))).toBe(false);
    const devices = r.cloud.devices(4242);
    expect(devices).toHaveLength(3);
    // The profile's groups were applied; these are production devices (not development).
    expect(devices.every((d) => d.groups.includes('demo') && !d.development)).toBe(true);
  });

  it('refuses when the product has no released firmware, unless an engineer accepts it', async () => {
    const r = await cliRig({ mode: 'ota-on-setup', slots: 1 });
    closers.push(() => r.cloud.close());
    // The same product, but the cloud has no released default firmware.
    const bare = await startMockCloud({
      host: '127.0.0.1',
      port: 0,
      products: [{ id: 4242, slug: 'demo-widget', platformId: 13 }],
    });
    closers.push(() => bare.close());
    bare.addToken(r.setup.token);
    // Point the locked profile at the bare cloud: that changes the profile, so re-lock it.
    const text = readFileSync(r.setup.profilePath, 'utf8').replace(r.cloud.url, bare.url);
    writeFileSync(r.setup.profilePath, text);
    const loaded = await loadProfile(r.setup.profilePath);
    if (!loaded.ok) throw new Error(loaded.error.message);
    const relocked = await lockProfile(loaded.value, { env: { ...process.env, ...r.env }, relock: true });
    expect(relocked.ok).toBe(true);
    const refused = await r.cli(runArgs(r, 'LOT-OTA2', ['--simulate', '1']));
    expect(refused.code).toBe(3);
    expect(refused.err.join('\n')).toMatch(/NOT_READY: .*released default firmware/);
    const accepted = await r.cli(
      runArgs(r, 'LOT-OTA2', ['--simulate', '1', '--accept', 'firmware-set', '--engineer', 'eng']),
    );
    expect(accepted.code).toBe(0);
  });
});

describe('linestation run --count K with fewer devices than K', () => {
  it('says the target was not reached, pauses the batch and exits 5', async () => {
    const r = await rig({ slots: 2 });
    const run = await r.cli(runArgs(r, 'LOT-SHORT', ['--count', '5', '--simulate', '3']));
    expect(run.err).toEqual([]);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(3);
    expect(run.out.join('\n')).toMatch(
      /Target not reached: 3 of 5 devices passed\. The batch is paused: run the same command with more simulated devices \(--simulate N\) to resume it\./,
    );
    expect(run.out.join('\n')).not.toMatch(/Batch complete/);
    expect(run.code).toBe(5);

    const show = await r.cli(['batches', '--data-dir', r.dataDir, '--json']);
    const rows = JSON.parse(show.out.join('\n')) as { batch: { lot: string; state: string } }[];
    expect(rows.map((x) => [x.batch.lot, x.batch.state])).toEqual([['LOT-SHORT', 'paused']]);

    // Resumed with enough devices (the same three, already provisioned, and two more): reached.
    const resumed = await r.cli(runArgs(r, 'LOT-SHORT', ['--simulate', '5']));
    expect(resumed.out.join('\n')).toMatch(/Batch complete\./);
    expect(resumed.code).toBe(0);
  });

  it('reports targetReached in the --json summary: false and exit 5 when short, true and exit 0 when met', async () => {
    const r = await rig({ slots: 2 });
    const summary = (out: string[]) =>
      JSON.parse(out.at(-1) ?? '{}') as {
        type: string;
        stopReason: string;
        targetReached: boolean | null;
        batch: { state: string; targetCount: number };
      };
    const short = await r.cli(runArgs(r, 'LOT-SJ', ['--count', '4', '--simulate', '1', '--json']));
    expect(short.code).toBe(5);
    expect(summary(short.out)).toMatchObject({
      type: 'summary',
      stopReason: 'operator-done',
      targetReached: false,
      batch: { state: 'paused', targetCount: 4 },
    });
    // More devices than the target: it stops at K passed and exits 0.
    const met = await r.cli(runArgs(r, 'LOT-MJ', ['--count', '2', '--simulate', '3', '--json']));
    expect(met.code).toBe(0);
    expect(summary(met.out)).toMatchObject({
      type: 'summary',
      stopReason: 'target',
      targetReached: true,
      batch: { state: 'closed', targetCount: 2 },
    });
  });
});

describe('linestation run on a flaky cloud', () => {
  const tokenChecks = (r: {
    cloud: { requests(): readonly { method: string; path: string; status?: number }[] };
  }) => r.cloud.requests().filter((q) => q.method === 'GET' && q.path === '/v1/products/4242');

  it('waits out a 429 at the start, printing the wait, then runs', async () => {
    const r = await rig({ slots: 1 });
    r.cloud.setFaults('429*1,retryAfter=1');
    const run = await r.cli(runArgs(r, 'LOT-429', ['--simulate', '1']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out[0]).toMatch(/^waiting for the Particle Cloud \(429, retry in [\d.]+ s\)$/);
    expect(tokenChecks(r).map((q) => q.status)).toEqual([429, 200]);
  });

  it('refuses with CLOUD_UNREACHABLE after --cloud-wait, naming the offline option', async () => {
    const r = await rig({ slots: 1 });
    r.cloud.setFaults('503');
    const once = await r.cli(runArgs(r, 'LOT-503', ['--simulate', '1', '--cloud-wait', '0']));
    expect(once.code).toBe(3);
    expect(once.err.join('\n')).toMatch(
      /CLOUD_UNREACHABLE: The token could not be checked: .*\(503\)\..*--offline --accept offline/,
    );
    expect(tokenChecks(r)).toHaveLength(1);
    // A 1 s bound: the outbox's first backoff (1 to 2 s) does not fit in it, so one try, then the refusal says so.
    const bounded = await r.cli(runArgs(r, 'LOT-503', ['--simulate', '1', '--cloud-wait', '1']));
    expect(bounded.code).toBe(3);
    expect(bounded.err.join('\n')).toMatch(/kept trying for [\d.]+ s \(1 try, limit 1 s\)/);
    expect(tokenChecks(r)).toHaveLength(2);
    const bad = await r.cli(runArgs(r, 'LOT-503', ['--simulate', '1', '--cloud-wait', 'soon']));
    expect(bad.code).toBe(1);
  });
});

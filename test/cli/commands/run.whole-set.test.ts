import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMockCloud } from '../../../core/cli/commands/mock-cloud';
import { runCli } from '../../../core/cli/main';
import { type MockCloud, startMockCloud } from '../../../core/cloud/mock-server';
import { platformByName } from '../../../core/platforms/lookup';
import {
  DEMO_PRODUCT_ID,
  DEMO_TOKEN_ENV,
  type DemoProductOptions,
  writeDemoProduct,
} from '../../../core/station/demo-setup';
import { parseCsvLine } from '../../../core/store/export';
import { captureIo, runArgs } from '../../station/cli-harness';
import { tempDir } from '../../store/helpers';

/*
 * `linestation run --simulate` (core/cli/commands/run.ts) with whole Device OS sets, older Device OS
 * and Device Protection, end to end through runCli: the demo product's files (core/station/
 * demo-setup.ts), simulated devices, a mock cloud on 127.0.0.1, and the CSV export read back.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

type Row = Record<string, string>;

/** A locked demo product and a way to run the CLI against it; the cloud is a mock on 127.0.0.1. */
const rig = async (product: DemoProductOptions, cloudFor?: () => Promise<MockCloud>) => {
  const dir = tempDir('ls-set-');
  const platform = platformByName(product.platform ?? 'boron');
  const cloud = cloudFor
    ? await cloudFor()
    : await startMockCloud({
        products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: platform?.id ?? 13 }],
      });
  closers.push(() => cloud.close());
  const setup = await writeDemoProduct(join(dir, 'product'), cloud.url, {
    slots: 2,
    bodySize: 8192,
    ...product,
  });
  if (!setup.ok) throw new Error(setup.error.message);
  cloud.addToken(setup.value.token);
  const dataDir = join(dir, 'data');
  const cli = async (args: string[]) => {
    const c = captureIo({ [DEMO_TOKEN_ENV]: setup.value.token });
    const code = await runCli(args, c.io);
    return { code, out: c.out, err: c.errs, text: c.out.join('\n') };
  };
  /** The lot's CSV export, one object per attempt keyed by the header. */
  const exported = async (lot: string): Promise<Row[]> => {
    const csv = await cli(['export', lot, '--format', 'csv', '--data-dir', dataDir]);
    const [head = '', ...rows] = csv.text.trimEnd().split('\r\n');
    const header = parseCsvLine(head);
    return rows.map((line) => {
      const cells = parseCsvLine(line);
      return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
    });
  };
  return { dataDir, cloud, setup: setup.value, cli, exported };
};

/** `name@path:outcome` of each module step, without its duration. */
const steps = (row: Row | undefined): string[] =>
  (row?.module_steps ?? '')
    .split(';')
    .filter(Boolean)
    .map((s) => s.replace(/:\d+$/, ''));

const TRACKER_SET_WRITTEN = [
  'bootloader.bin@normal:written',
  'softdevice.bin@dfu:written',
  'system-part1.bin@dfu:written',
  // An application for Device OS ≥ 3.1 also clears the old user part's first page, as particle-cli does.
  'erase the pre-3.1 user part at 0x000D4000@dfu:written',
  'widget-app.bin@dfu:written',
];

describe('linestation run --simulate with a whole Device OS set', () => {
  it('passes a Tracker batch whose set carries bootloader, SoftDevice, system and user part; the export shows each module’s step', async () => {
    const r = await rig({ platform: 'tracker', wholeSet: true });
    // The simulated Trackers run 6.2.1 with bootloader 3000: every module of the 6.3.0 set is written.
    const run = await r.cli(runArgs(r, 'LOT-TRK', ['--simulate', '3']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(3);
    // Each slot runs the pipeline's new steps, in the set's order.
    expect(run.out.filter((l) => /^slot 1 [a-z-]+$/.test(l)).slice(0, 8)).toEqual([
      'slot 1 identify',
      'slot 1 normal-update',
      'slot 1 ensure-dfu',
      'slot 1 flash',
      'slot 1 leave',
      'slot 1 confirm',
      'slot 1 setup-done',
      'slot 1 register',
    ]);
    expect(r.cloud.devices(DEMO_PRODUCT_ID)).toHaveLength(3);

    const rows = await r.exported('LOT-TRK');
    expect(rows.map((x) => x.result)).toEqual(['pass', 'pass', 'pass']);
    for (const row of rows) {
      expect(steps(row)).toEqual(TRACKER_SET_WRITTEN);
      expect(row.normal_update_ms).toMatch(/^\d+$/);
      expect(row.flash_ms).toMatch(/^\d+$/);
      expect(row.setup_done).toBe('skipped: not needed on Device OS 6300 (4.0+)');
      // An open device needs no Service Mode.
      expect(row.service_mode_ms).toBe('');
    }
  });

  it('marks a Boron on Device OS 3.3.1 (--sim-device-os) set up: setup_done is set in the export', async () => {
    // No system part in the set: the application is built for the 3.3.1 the devices arrive with.
    const r = await rig({ deviceOs: 3301 });
    const run = await r.cli(runArgs(r, 'LOT-331', ['--simulate', '2', '--sim-device-os', '3.3.1']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    const rows = await r.exported('LOT-331');
    expect(rows.map((x) => [x.result, x.setup_done])).toEqual([
      ['pass', 'set'],
      ['pass', 'set'],
    ]);
    for (const row of rows) {
      expect(row.setup_done_ms).toMatch(/^\d+$/);
      expect(steps(row)).toEqual([
        'erase the pre-3.1 user part at 0x000D4000@dfu:written',
        'widget-app.bin@dfu:written',
      ]);
    }
  });

  it('never passes a device that comes back with the old version (old-version): DEVICE_UPDATE_NOT_APPLIED in the export, nothing registered', async () => {
    const r = await rig({ platform: 'tracker', wholeSet: true });
    const run = await r.cli(runArgs(r, 'LOT-OLD', ['--simulate', '2', '--sim-faults', 'old-version=1']));
    expect(run.code).toBe(4);
    expect(run.text).not.toMatch(/ PASS in /);
    expect(run.text).toMatch(
      /FAIL at normal-update: Device kept its old firmware \(DEVICE_UPDATE_NOT_APPLIED\)/,
    );
    const rows = await r.exported('LOT-OLD');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      expect([row.result, row.error_code]).toEqual(['fail', 'DEVICE_UPDATE_NOT_APPLIED']);
      expect(row.error_message).toMatch(/bootloader module 0 still at version 3000, not 3100/);
    }
    expect(r.cloud.devices(DEMO_PRODUCT_ID)).toEqual([]);
  });

  it('names a refused update (update-refused) in the export; a device passes only on a later attempt, after the refusal', async () => {
    const r = await rig({ platform: 'tracker', wholeSet: true });
    // Seed 3 gives the two devices refusals no retry within the update gets past (-1370 format, -1330 integrity).
    const run = await r.cli(
      runArgs(r, 'LOT-REF', ['--simulate', '2', '--sim-faults', 'update-refused=1,seed=3']),
    );
    const rows = await r.exported('LOT-REF');
    const devices = [...new Set(rows.map((x) => x.device_id))];
    expect(devices).toHaveLength(2);
    for (const id of devices) {
      const [first, ...later] = rows.filter((x) => x.device_id === id);
      expect(first?.result).toBe('fail');
      expect(first?.error_code).toMatch(/^DEVICE_UPDATE_REJECTED_/);
      expect(steps(first)).toEqual([]);
      // The refusal was once: re-seated, the device takes the whole set and is verified.
      expect(later.map((x) => x.result)).toEqual(['pass']);
      expect(steps(later[0])).toEqual(TRACKER_SET_WRITTEN);
    }
    expect(run.code).toBe(0);
  });
});

describe('linestation run --simulate with protected devices', () => {
  it('unlocks each protected device through `mock-cloud --simulated-devices --device-protection`, flashes it and logs service_mode_ms', async () => {
    const ac = new AbortController();
    const r = await rig({ platform: 'tracker', wholeSet: true, deviceProtection: true }, async () => {
      const started = await runMockCloud(
        { product: DEMO_PRODUCT_ID, simulatedDevices: true, deviceProtection: true },
        captureIo().io,
        ac.signal,
      );
      return started.mock;
    });
    closers.push(async () => ac.abort());
    const run = await r.cli(runArgs(r, 'LOT-PROT', ['--simulate', '2', '--sim-protected']));
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => /^slot 1 service-mode$/.test(l))).toHaveLength(2);
    const rows = await r.exported('LOT-PROT');
    expect(rows.map((x) => x.result)).toEqual(['pass', 'pass']);
    for (const row of rows) {
      expect(row.service_mode_ms).toMatch(/^\d+$/);
      expect(steps(row)).toEqual(TRACKER_SET_WRITTEN);
      // Two cloud steps per device (prepare, confirm); leaving Service Mode needs no cloud.
      const unprotect = r.cloud
        .requests()
        .filter((q) => q.path.endsWith(`/devices/${row.device_id}/unprotect`) && q.status === 200);
      expect(unprotect.map((q) => (q.body as { action: string }).action)).toEqual(['prepare', 'confirm']);
    }
  });

  it('fails a protected device at identify with DEVICE_PROTECTED when the profile lacks deviceProtection, and sets it aside', async () => {
    const r = await rig({});
    const run = await r.cli(runArgs(r, 'LOT-NOPROT', ['--simulate', '2', '--sim-protected']));
    expect(run.code).toBe(4);
    expect(run.text).toMatch(/FAIL at identify: Device is protected \(DEVICE_PROTECTED\)/);
    expect(run.text).toMatch(/Simulated operator: 2 plugged, 0 re-seated, 2 set aside\./);
    const rows = await r.exported('LOT-NOPROT');
    expect(rows.map((x) => [x.result, x.error_code, x.module_steps, x.flash_ms])).toEqual([
      ['fail', 'DEVICE_PROTECTED', '', ''],
      ['fail', 'DEVICE_PROTECTED', '', ''],
    ]);
    expect(r.cloud.requests().some((q) => q.path.endsWith('/unprotect'))).toBe(false);
  });

  it('refuses the simulation switches without --simulate, and --sim-protected on a Device OS without Device Protection', async () => {
    const r = await rig({});
    const alone = await r.cli(runArgs(r, 'LOT-U1', ['--sim-protected']));
    expect(alone.code).toBe(3);
    expect(alone.err.join('\n')).toMatch(/USAGE: --sim-protected needs --simulate N\./);
    const old = await r.cli(
      runArgs(r, 'LOT-U2', ['--simulate', '1', '--sim-protected', '--sim-device-os', '5.9.0']),
    );
    expect(old.code).toBe(3);
    expect(old.err.join('\n')).toMatch(/needs Device OS 6\.0 or later .* the simulated boron runs 5\.9\.0/);
    const bad = await r.cli(runArgs(r, 'LOT-U3', ['--simulate', '1', '--sim-device-os', 'six']));
    expect(bad.code).not.toBe(0);
    expect(bad.err.join('\n')).toMatch(/Device OS release such as 3\.3\.1/);
    // Nothing was started: no batch exists.
    const list = await r.cli(['batches', '--data-dir', r.dataDir, '--json']);
    expect(JSON.parse(list.text || '[]')).toEqual([]);
  });
});

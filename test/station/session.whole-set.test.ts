import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { platformByName } from '../../core/platforms/lookup';
import { portPaths, SimBus, SimDevice, simCloudKeys, simDeviceKeys } from '../../core/sim/index';
import type { SimDeviceOptions } from '../../core/sim/types';
import {
  DEMO_PRODUCT_ID,
  DEMO_TOKEN_ENV,
  type DemoProductOptions,
  writeDemoProduct,
} from '../../core/station/demo-setup';
import { openSession } from '../../core/station/session';
import { type ExportRow, writeExport } from '../../core/store/export';
import type { AttemptRecord } from '../../core/store/records';
import { tempDir } from '../store/helpers';

/*
 * The station as `run` wires it (core/station/session.ts: profile, readiness, log, batch, the real
 * driver and core/install) with the simulated devices in the test's hands, so what they run and
 * their protection can be looked at afterwards: a device that already runs the set is written
 * nothing with skipWhenCurrent, a protected device is unlocked through the product's cloud and
 * locked again, and a protected device on a profile without Device Protection is left untouched.
 */

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const tracker = platformByName('tracker');
if (!tracker) throw new Error('no tracker in the platform table');

/** A mock cloud on 127.0.0.1 whose product has Device Protection, signing with the key simulated devices trust. */
const protectedCloud = async (): Promise<MockCloud> => {
  const cloud = await startMockCloud({
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: tracker.id, deviceProtection: true }],
    protectionKey: simCloudKeys().privateKey,
  });
  closers.push(() => cloud.close());
  return cloud;
};

const product = async (cloud: MockCloud, dir: string, options: DemoProductOptions) => {
  const setup = await writeDemoProduct(dir, cloud.url, { slots: 2, bodySize: 8192, ...options });
  if (!setup.ok) throw new Error(setup.error.message);
  cloud.addToken(setup.value.token);
  return setup.value;
};

const trackers = (lot: string, n: number, over: Partial<SimDeviceOptions> = {}) =>
  Array.from(
    { length: n },
    (_, i) => new SimDevice({ platform: 'tracker', seed: `${lot}:${i}`, timeScale: 0.002, ...over }),
  );

/**
 * Opens a session for `lot`, plugs each device into its own slot, waits until every one has
 * finished its attempt, exports the lot, unplugs the devices (they keep what they now run) and
 * closes the station.
 */
const runLot = async (
  setup: { profilePath: string; token: string },
  lot: string,
  dataDir: string,
  devices: readonly SimDevice[],
) => {
  const bus = new SimBus();
  closers.push(() => bus.dispose());
  const opened = await openSession({
    profilePath: setup.profilePath,
    lot,
    operator: 'ana',
    station: 'line-1',
    dataDir,
    env: { [DEMO_TOKEN_ENV]: setup.token },
    offline: false,
    acceptances: [],
    transport: bus,
    simulated: true,
    pollMs: 5,
    reenumerationTimeoutMs: 3000,
    retryDelayMs: 5,
    targetCount: devices.length,
  });
  if (!opened.ok) throw new Error(`${opened.error.code}: ${opened.error.message}`);
  const session = opened.value;
  const finished: AttemptRecord[] = [];
  const allDone = new Promise<void>((resolve) =>
    session.station.on((e) => {
      if (e.type !== 'attempt-finished') return;
      finished.push(e.attempt);
      if (finished.length === devices.length) resolve();
    }),
  );
  await session.station.start();
  const ports = portPaths(devices.length);
  devices.forEach((d, i) => {
    bus.plug(d, ports[i] ?? '');
  });
  await allDone;
  let json = '';
  writeExport(session.log, session.batch, 'json', (chunk) => {
    json += chunk;
  });
  for (const p of ports) bus.unplug(p);
  await session.close();
  return { finished, rows: JSON.parse(json) as ExportRow[] };
};

const steps = (row: ExportRow | undefined): string[] =>
  String(row?.module_steps ?? '')
    .split(';')
    .filter(Boolean)
    .map((s) => s.replace(/:\d+$/, ''));

describe('a whole set through the station, twice on the same devices', () => {
  it('writes every module to devices on an older Device OS, then nothing to the same devices with skipWhenCurrent', async () => {
    const cloud = await startMockCloud({
      products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: tracker.id }],
    });
    closers.push(() => cloud.close());
    const dir = join(tempDir('ls-set-session-'), 'product');
    const dataDir = join(dir, 'data');
    const writeAll = await product(cloud, dir, { platform: 'tracker', wholeSet: true });
    // A second profile beside it on the same files: only skipWhenCurrent differs.
    const skipCurrent = await product(cloud, dir, {
      platform: 'tracker',
      wholeSet: true,
      skipWhenCurrent: true,
      profileName: 'widget-skip.profile.json',
    });
    const devices = trackers('LOT-SET', 2);

    const first = await runLot(writeAll, 'LOT-SET', dataDir, devices);
    expect(first.finished.map((a) => a.result)).toEqual(['pass', 'pass']);
    for (const row of first.rows)
      expect(steps(row)).toEqual([
        'bootloader.bin@normal:written',
        'softdevice.bin@dfu:written',
        'system-part1.bin@dfu:written',
        'erase the pre-3.1 user part at 0x000D4000@dfu:written',
        'widget-app.bin@dfu:written',
      ]);
    for (const d of devices) {
      const versions = new Map(d.modules.map((m) => [`${m.func}/${m.index}`, m.version]));
      expect([versions.get('2/0'), versions.get('8/0'), versions.get('4/1')]).toEqual([3100, 204, 6300]);
    }

    const programmed = devices.map((d) => d.stats.bytesProgrammed);
    const second = await runLot(skipCurrent, 'LOT-SET-AGAIN', dataDir, devices);
    expect(second.finished.map((a) => a.result)).toEqual(['pass', 'pass']);
    for (const row of second.rows) {
      expect(steps(row)).toEqual([
        'bootloader.bin@normal:current',
        'softdevice.bin@dfu:current',
        'system-part1.bin@dfu:current',
        'erase the pre-3.1 user part at 0x000D4000@dfu:current',
        'widget-app.bin@dfu:current',
      ]);
      // Nothing went over either path; the device's own word was still checked.
      expect([row.normal_update_ms, row.ensure_dfu_ms, row.flash_ms]).toEqual([null, null, null]);
      expect(row.confirm_ms).not.toBeNull();
    }
    expect(devices.map((d) => d.stats.bytesProgrammed)).toEqual(programmed);
  });
});

describe('protected devices through the station', () => {
  it('unlocks each protected device through the product’s cloud, installs the set, and leaves it protected', async () => {
    const cloud = await protectedCloud();
    const dir = join(tempDir('ls-prot-session-'), 'product');
    const setup = await product(cloud, dir, { platform: 'tracker', wholeSet: true, deviceProtection: true });
    const devices = trackers('LOT-PROT', 2, { protection: 'protected' });
    // As the real cloud knows them: members of the product, with the public key from manufacturing.
    for (const d of devices) {
      cloud.addDevice(DEMO_PRODUCT_ID, d.deviceId);
      cloud.addDeviceKey(d.deviceId, simDeviceKeys(d.deviceId).publicKey);
    }

    const { finished, rows } = await runLot(setup, 'LOT-PROT', join(dir, 'data'), devices);
    expect(finished.map((a) => [a.result, a.errorCode])).toEqual([
      ['pass', null],
      ['pass', null],
    ]);
    for (const row of rows) {
      expect(row.service_mode_ms).not.toBeNull();
      expect(steps(row)[0]).toBe('bootloader.bin@normal:written');
    }
    for (const d of devices) {
      // Protected again, not left in Service Mode: the bootloader that was sent was sealed as protected.
      expect(d.protection).toBe('protected');
      const bootloader = d.modules.find((m) => m.func === 2 && m.index === 0);
      expect([bootloader?.version, bootloader?.protected]).toEqual([3100, true]);
    }
    const actions = cloud
      .requests()
      .filter((q) => q.path.endsWith('/unprotect'))
      .map((q) => (q.body as { action: string }).action);
    expect(actions.sort()).toEqual(['confirm', 'confirm', 'prepare', 'prepare']);
  });

  it('locks a device found already in Service Mode before it leaves the slot, also when nothing is written', async () => {
    const cloud = await protectedCloud();
    const dir = join(tempDir('ls-prot-session-'), 'product');
    const dataDir = join(dir, 'data');
    const setup = await product(cloud, dir, {
      platform: 'tracker',
      wholeSet: true,
      deviceProtection: true,
      skipWhenCurrent: true,
    });
    // Left in Service Mode elsewhere (another tool, an earlier station that failed to lock it).
    const [device] = trackers('LOT-SVC', 1, { protection: 'service' });
    if (!device) throw new Error('no device');
    cloud.addDevice(DEMO_PRODUCT_ID, device.deviceId);
    cloud.addDeviceKey(device.deviceId, simDeviceKeys(device.deviceId).publicKey);

    const first = await runLot(setup, 'LOT-SVC', dataDir, [device]);
    expect(first.finished.map((a) => [a.result, a.errorCode])).toEqual([['pass', null]]);
    expect(first.rows[0]?.service_mode_ms).not.toBeNull();
    expect(device.protection).toBe('protected');

    // The same device, in Service Mode again, already running the whole set: nothing to write.
    const again = new SimDevice({
      platform: 'tracker',
      deviceId: device.deviceId,
      modules: device.modules,
      protection: 'service',
      timeScale: 0.002,
    });
    const second = await runLot(setup, 'LOT-SVC-AGAIN', dataDir, [again]);
    expect(second.finished.map((a) => [a.result, a.errorCode])).toEqual([['pass', null]]);
    expect(steps(second.rows[0]).every((x) => x.endsWith(':current'))).toBe(true);
    expect(second.rows[0]?.service_mode_ms).not.toBeNull();
    expect(again.protection).toBe('protected');
  });

  it('refuses a protected device at identify (DEVICE_PROTECTED) when the profile lacks deviceProtection, and writes nothing', async () => {
    const cloud = await protectedCloud();
    const dir = join(tempDir('ls-prot-session-'), 'product');
    const setup = await product(cloud, dir, { platform: 'tracker', wholeSet: true });
    const devices = trackers('LOT-NOPROT', 1, { protection: 'protected' });
    const [device] = devices;
    if (!device) throw new Error('no device');
    const before = device.modules;

    const { finished } = await runLot(setup, 'LOT-NOPROT', join(dir, 'data'), devices);
    expect(finished.map((a) => [a.result, a.step, a.errorCode])).toEqual([
      ['fail', 'identify', 'DEVICE_PROTECTED'],
    ]);
    // Untouched: no erase, no program, no reset, the same modules, still protected.
    expect(device.stats.sectorsErased).toBe(0);
    expect(device.stats.bytesProgrammed).toBe(0);
    expect(device.stats.reenumerations).toBe(0);
    expect(device.modules).toEqual(before);
    expect(device.protection).toBe('protected');
    expect(cloud.requests().some((q) => q.path.endsWith('/unprotect'))).toBe(false);
    expect(cloud.devices(DEMO_PRODUCT_ID)).toEqual([]);
  });
});

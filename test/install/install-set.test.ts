import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type LsError, LsFailure } from '../../core/errors/result';
import { buildModule } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import { planSet } from '../../core/firmware/plan-set';
import type { InspectedFile, PlanTarget } from '../../core/firmware/types';
import { readDeviceState } from '../../core/install/device-state';
import { type InstallOptions, installSet } from '../../core/install/install-set';
import { planForDevice } from '../../core/install/plan-for-device';
import type { InstallPhase, InstallRunner, PhaseResult } from '../../core/install/types';
import { platformByName } from '../../core/platforms/lookup';
import { SimBus, SimDevice } from '../../core/sim/index';
import type { SimDeviceOptions } from '../../core/sim/types';
import type { UsbDeviceInfo } from '../../core/usb/transport';

/*
 * The whole-set install on the simulated Device OS: the order of paths, what the device runs
 * afterwards (MODULE_INFO), the repair order for a device found in DFU mode, "already current",
 * setup done per Device OS release, and the refusals the device gives. Modules are generated for
 * a Boron (Gen 3): a bootloader (normal mode), a SoftDevice, a system part and a user part (DFU).
 */

const PORT = '1-1.1';
const PRODUCT_ID = 4242;
const boron = platformByName('boron');
if (!boron) throw new Error('no boron in the platform table');
// Device OS only finds a Gen 3 prefix at 0x200 behind a vector table (an initial stack pointer).
const SP = 0x2003fc00;

const file = (name: string, bytes: Uint8Array): InspectedFile => inspectBytes(name, bytes);

/** A whole Gen 3 set that moves the device from the simulator's 6.2.1 / bootloader 3000 to 6.3.0. */
const wholeSet = (): InspectedFile[] => [
  file(
    'bootloader.bin',
    buildModule({
      platformId: boron.id,
      function: 'bootloader',
      version: 3100,
      bodySize: 3000,
      initialStackPointer: SP,
    }),
  ),
  file(
    'softdevice.bin',
    buildModule({ platformId: boron.id, function: 'radio', version: 204, bodySize: 4000 }),
  ),
  file(
    'system-part1.bin',
    buildModule({
      platformId: boron.id,
      function: 'system',
      index: 1,
      version: 6300,
      bodySize: 6000,
      initialStackPointer: SP,
      dependencies: [{ function: 'bootloader', index: 0, version: 3100 }],
    }),
  ),
  file(
    'app.bin',
    buildModule({
      platformId: boron.id,
      function: 'user',
      bodySize: 2000,
      product: { id: PRODUCT_ID, version: 7 },
      dependencies: [{ function: 'system', index: 1, version: 6300 }],
    }),
  ),
];

/** An asset as Particle's tools build it: its contents, a HASH record (SHA-256) and a NAME record. */
const assetFile = (name: string): InspectedFile => {
  const contents = Uint8Array.from({ length: 2500 }, (_, i) => (i * 11) & 0xff);
  return file(
    name,
    buildModule({
      platformId: boron.id,
      function: 'asset',
      version: 1,
      startAddress: 0,
      body: contents,
      suffixExtensions: [
        { type: 0x0010, payload: Uint8Array.of(0, 32, ...createHash('sha256').update(contents).digest()) },
        { type: 0x0011, payload: new TextEncoder().encode(name) },
      ],
    }),
  );
};

const PRODUCT: PlanTarget = { platformId: boron.id, productId: PRODUCT_ID, mode: 'flash-on-line' };

const buses: SimBus[] = [];
afterEach(() => {
  for (const b of buses.splice(0)) b.dispose();
});

const plug = async (over: Partial<SimDeviceOptions> = {}) => {
  const bus = new SimBus();
  buses.push(bus);
  const device = new SimDevice({ platform: 'boron', seed: 'install', timeScale: 0.001, ...over });
  bus.plug(device, PORT);
  const info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  return { bus, device, info };
};

/** A runner that records the phases in order, like the CLI's (no timeouts of its own). */
const recorder = () => {
  const phases: InstallPhase[] = [];
  const progress: string[] = [];
  /** What the phases told the runner, as the station logs it (module steps per phase). */
  const told: string[] = [];
  const runner: InstallRunner = {
    async phase(name, fn): Promise<PhaseResult> {
      phases.push(name);
      const r = await fn({
        signal: new AbortController().signal,
        onProgress: (p) => {
          if (p.phase && !progress.includes(p.phase)) progress.push(p.phase);
        },
      });
      told.push(...(r.moduleSteps ?? []).map((m) => `${m.name}@${m.path}:${m.outcome}`));
      return r;
    },
  };
  return { runner, phases, progress, told };
};

const OPTIONS: InstallOptions = { verify: true, setupDone: true, pollMs: 5, reenumerationTimeoutMs: 3000 };

const install = async (over: Partial<SimDeviceOptions> = {}, files = wholeSet(), opts = OPTIONS) => {
  const { bus, device, info } = await plug(over);
  const dfu = info.productId === boron.usb.dfuProductId;
  const state = await readDeviceState(bus, info, dfu, new AbortController().signal);
  const plan = planSet(files, {
    ...PRODUCT,
    deviceModules: state.modules,
    alreadyInDfu: dfu,
    skipWhenCurrent: true,
  });
  expect(plan.errors).toEqual([]);
  const rec = recorder();
  let error: LsError | undefined;
  const report = await installSet(
    {
      transport: bus,
      device: info,
      deviceId: device.deviceId,
      platform: boron,
      protection: state.protection,
      systemVersion: state.systemVersion,
    },
    plan,
    opts,
    rec.runner,
  ).catch((e: unknown) => {
    if (e instanceof LsFailure) error = e.error;
    else throw e;
    return undefined;
  });
  return { bus, device, report, error, ...rec };
};

describe('installSet on the simulated Device OS', () => {
  it('installs a whole Gen 3 set: bootloader in normal mode, then SoftDevice, system and user part over DFU', async () => {
    const { report, error, phases, device, progress } = await install();
    expect(error).toBeUndefined();
    expect(phases).toEqual(['normal-update', 'ensure-dfu', 'flash', 'leave', 'confirm', 'setup-done']);
    expect(report?.moduleSteps.map((m) => `${m.name}@${m.path}:${m.outcome}`)).toEqual([
      'bootloader.bin@normal:written',
      'softdevice.bin@dfu:written',
      'system-part1.bin@dfu:written',
      // A user part for Device OS ≥ 3.1 also clears the old 128 KB user part (particle-cli does too).
      'erase the pre-3.1 user part at 0x000D4000@dfu:written',
      'app.bin@dfu:written',
    ]);
    // The device's own word: every module at its new version.
    const versions = new Map(device.modules.map((m) => [`${m.func}/${m.index}`, m.version]));
    expect(versions.get('2/0')).toBe(3100);
    expect(versions.get('4/1')).toBe(6300);
    // Device OS 6.3 needs no setup-done flag.
    expect(report?.setupDone).toMatch(/^skipped: /);
    // The slot can say which module and path is running.
    expect(progress.some((p) => p.startsWith('bootloader.bin (normal mode)'))).toBe(true);
    expect(progress.some((p) => p.startsWith('app.bin (DFU)'))).toBe(true);
  });

  it('repairs a device found in DFU mode: DFU modules first, then the bootloader in normal mode', async () => {
    const { error, phases, report } = await install({ mode: 'dfu' });
    expect(error?.message).toBeUndefined();
    expect(phases.slice(0, 4)).toEqual(['flash', 'leave', 'confirm', 'normal-update']);
    expect(report?.moduleSteps[0]?.name).toBe('softdevice.bin');
    expect(report?.moduleSteps.at(-1)?.name).toBe('bootloader.bin');
  });

  it('writes nothing to a device that already runs the set, and still verifies it', async () => {
    const first = await install();
    expect(first.error).toBeUndefined();
    // The same device, plugged again with what it now runs.
    const again = await install({ modules: first.device.modules, deviceId: first.device.deviceId });
    expect(again.error).toBeUndefined();
    expect(again.report?.moduleSteps.map((m) => m.outcome)).toEqual([
      'current',
      'current',
      'current',
      'current',
      'current',
    ]);
    expect(again.phases).toEqual(['confirm', 'setup-done']);
    // The runner (the station's log) hears of every module, although none had a phase of its own.
    expect(again.told).toEqual([
      'bootloader.bin@normal:current',
      'softdevice.bin@dfu:current',
      'system-part1.bin@dfu:current',
      'erase the pre-3.1 user part at 0x000D4000@dfu:current',
      'app.bin@dfu:current',
    ]);
  });

  it('installs an asset last, in normal mode; on the next run the device holds it and the step is skipped', async () => {
    const { bus, device, info } = await plug();
    const files = [...wholeSet(), assetFile('sound.bin')];
    const run = async (at: UsbDeviceInfo) => {
      const state = await readDeviceState(bus, at, false, new AbortController().signal);
      const { plan } = planForDevice(files, PRODUCT, { inDfu: false, state, skipWhenCurrent: true });
      expect(plan.errors).toEqual([]);
      const rec = recorder();
      const report = await installSet(
        {
          transport: bus,
          device: at,
          deviceId: device.deviceId,
          platform: boron,
          protection: state.protection,
          systemVersion: state.systemVersion,
        },
        plan,
        OPTIONS,
        rec.runner,
      );
      return { state, report, ...rec };
    };
    const first = await run(info);
    expect(first.state.assets).toEqual([]);
    expect(first.report.moduleSteps.map((m) => `${m.name}@${m.path}:${m.outcome}`).at(-1)).toBe(
      'sound.bin@normal:written',
    );
    expect(first.phases.at(-3)).toBe('normal-update');
    expect(device.assets.map((a) => a.name)).toEqual(['sound.bin']);
    // The same device, as it is now on the bus.
    const now = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
    const again = await run(now);
    expect(again.state.assets?.map((a) => a.name)).toEqual(['sound.bin']);
    expect(again.report.moduleSteps.map((m) => m.outcome)).toEqual([
      'current',
      'current',
      'current',
      'current',
      'current',
      'skipped',
    ]);
    expect(again.told.at(-1)).toBe('sound.bin@normal:skipped');
    expect(again.phases).not.toContain('normal-update');
  });

  it('tells the runner each module by its file name, in the plan’s order, current ones included', async () => {
    const first = await install();
    expect(first.error).toBeUndefined();
    // Labels as the station has them (the path the file was read from); a newer application.
    const files = wholeSet().map((f, i, all) =>
      i < all.length - 1
        ? { ...f, images: f.images.map((im) => ({ ...im, label: `/srv/line/firmware/${im.label}` })) }
        : file(
            '/srv/line/firmware/app.bin',
            buildModule({
              platformId: boron.id,
              function: 'user',
              version: 8,
              bodySize: 2000,
              product: { id: PRODUCT_ID, version: 8 },
              dependencies: [{ function: 'system', index: 1, version: 6300 }],
            }),
          ),
    );
    const again = await install({ modules: first.device.modules, deviceId: first.device.deviceId }, files);
    expect(again.error).toBeUndefined();
    expect(again.phases).toEqual(['ensure-dfu', 'flash', 'leave', 'confirm', 'setup-done']);
    const expected = [
      'bootloader.bin@normal:current',
      'softdevice.bin@dfu:current',
      'system-part1.bin@dfu:current',
      'erase the pre-3.1 user part at 0x000D4000@dfu:written',
      'app.bin@dfu:written',
    ];
    expect(again.told).toEqual(expected);
    expect(again.report?.moduleSteps.map((m) => `${m.name}@${m.path}:${m.outcome}`)).toEqual(expected);
  });

  it('marks a Gen 3 device on Device OS 3.x set up, and it stays so after a reset', async () => {
    const userOn3 = file(
      'app.bin',
      buildModule({
        platformId: boron.id,
        function: 'user',
        bodySize: 2000,
        product: { id: PRODUCT_ID, version: 7 },
        dependencies: [{ function: 'system', index: 1, version: 3301 }],
      }),
    );
    const os3 = { deviceOs: { version: '3.3.1', systemModuleVersion: 3301 }, setupDone: false };
    const { error, report, device } = await install(os3, [userOn3]);
    expect(error).toBeUndefined();
    expect(report?.setupDone).toBe('set');
    expect(device.setupDone).toBe(true);
  });

  it('fails SETUP_DONE_NOT_KEPT when the flag is lost at the reset', async () => {
    const userOn3 = file(
      'app.bin',
      buildModule({
        platformId: boron.id,
        function: 'user',
        bodySize: 2000,
        product: { id: PRODUCT_ID, version: 7 },
        dependencies: [{ function: 'system', index: 1, version: 3301 }],
      }),
    );
    const { error } = await install(
      {
        deviceOs: { version: '3.3.1', systemModuleVersion: 3301 },
        setupDone: false,
        faults: { setupDoneLost: true },
      },
      [userOn3],
    );
    expect(error?.code).toBe('SETUP_DONE_NOT_KEPT');
  });

  it('never passes a device that comes back with the old bootloader', async () => {
    const { error } = await install({ faults: { updateNotApplied: true } });
    expect(error?.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
  });

  it('names the device’s refusal of a module (dependency) and writes nothing after it', async () => {
    const { error, report, phases } = await install({
      faults: { refuseUpdate: { result: -1340, times: 5 } },
    });
    expect(error?.code).toBe('DEVICE_UPDATE_REJECTED_DEPENDENCY');
    expect(report).toBeUndefined();
    expect(phases).toEqual(['normal-update']);
  });
});

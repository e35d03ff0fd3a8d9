import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DfuSession } from '../../core/dfu';
import { buildModule, crc32, parseModule } from '../../core/firmware';
import {
  type NormalModeImage,
  type NormalUpdateOptions,
  normalModeImage,
  updateModuleNormalMode,
} from '../../core/particle/normal-update';
import { getProtectedState, readDfuProtection } from '../../core/particle/protection';
import { getModuleInfo } from '../../core/particle/requests';
import { isSetupDone, setSetupDone } from '../../core/particle/setup-done';
import type { NormalUpdateProgress } from '../../core/particle/update-progress';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import type { UsbDeviceInfo } from '../../core/usb/transport';

// The host side against the simulated Device OS (core/sim: START/DATA/FINISH as Device OS 6.2's
// storage.cpp, validation with its result codes, NCP applied before the reset, other modules by
// the bootloader on the next boot, MODULE_INFO with the suffix SHA-256), on the simulated bus.

const PORT = '1-4.2';
const fixtures = join(__dirname, '../../../shared/fixtures/particle-binaries');
const fast: NormalUpdateOptions = {
  pollMs: 5,
  retryDelayMs: 1,
  heartbeatMs: 0,
  request: { checkIntervals: [1, 2, 5] },
  timeoutMs: 30_000,
};

let bus: SimBus | undefined;
afterEach(() => bus?.dispose());

const setup = async (options: Partial<SimDeviceOptions>) => {
  bus = new SimBus();
  const device = new SimDevice({ platform: 'boron', seed: 11, timeScale: 0.001, ...options });
  bus.plug(device, PORT);
  const info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  return { bus, device, info };
};

/**
 * A generated Gen 3 module as Device OS finds it in its update area: the prefix sits at 0x200 only
 * behind a vector table whose first word is an initial stack pointer in RAM (0x20000000 to 0x2003FFFF), so that word is
 * set and the SHA-256 and CRC sealed again (buildModule leaves the vector table zero).
 */
const withStackPointer = (data: Uint8Array, corruptCrc: boolean): Uint8Array => {
  const out = Uint8Array.from(data);
  new DataView(out.buffer).setUint32(0, 0x2003fc00, true);
  out.set(
    createHash('sha256')
      .update(out.subarray(0, out.length - 38))
      .digest(),
    out.length - 38,
  );
  const crc = crc32(out, 0, out.length - 4);
  new DataView(out.buffer).setUint32(out.length - 4, corruptCrc ? ~crc >>> 0 : crc, false);
  return out;
};

const built = (
  platformId: number,
  fn: 'bootloader' | 'system',
  version: number,
  corruptCrc = false,
): NormalModeImage => {
  const data = withStackPointer(
    buildModule({ platformId, function: fn, version, bodySize: 4000 }),
    corruptCrc,
  );
  const parsed = parseModule(`${fn}.bin`, data);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return normalModeImage(data, parsed.module, `${fn}.bin`);
};

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** An asset as Particle's tools build it: the contents behind a HASH record and a NAME record. */
const asset = (name: string): { image: NormalModeImage; contents: Uint8Array } => {
  const contents = Uint8Array.from({ length: 3000 }, (_, i) => (i * 5) & 0xff);
  const data = buildModule({
    platformId: 13,
    function: 'asset',
    version: 1,
    startAddress: 0,
    body: contents,
    suffixExtensions: [
      { type: 0x0010, payload: Uint8Array.of(0, 32, ...createHash('sha256').update(contents).digest()) },
      { type: 0x0011, payload: new TextEncoder().encode(name) },
    ],
  });
  const parsed = parseModule(name, data);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { image: normalModeImage(data, parsed.module, name), contents };
};

const fromFixture = (name: string): NormalModeImage => {
  const data = new Uint8Array(readFileSync(join(fixtures, name)));
  const parsed = parseModule(name, data);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return normalModeImage(data, parsed.module, name);
};

const update = async (
  options: Partial<SimDeviceOptions>,
  image: NormalModeImage,
  extra: NormalUpdateOptions = {},
) => {
  const { bus, device, info } = await setup(options);
  const progress: NormalUpdateProgress[] = [];
  const r = await updateModuleNormalMode(bus, info, image, {
    ...fast,
    onProgress: (p) => progress.push(p),
    ...extra,
  });
  return { r, device, info, progress };
};

describe('updateModuleNormalMode against the simulated Device OS', () => {
  it('installs a bootloader: verified after the reset at the new version with the file’s SHA-256', async () => {
    const image = built(13, 'bootloader', 3100);
    const { r, device, info, progress } = await update({}, image);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({
      function: 'bootloader',
      version: 3100,
      previousVersion: 3000,
      hashCheck: 'matched',
      hash: image.module.sha256,
      chunkSize: 1024,
      attempts: 1,
      listening: 'entered',
    });
    expect(r.value.device.portPath).toBe(PORT);
    expect(r.value.device.serialNumber).toBe(device.deviceId);
    expect(r.value.device.key).not.toBe(info.key);
    expect(device.modules.find((m) => m.func === 2)?.version).toBe(3100);
    const phases = progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases).toEqual(['preparing', 'sending', 'applying', 'rebooting', 'verifying']);
  });

  it('names the simulated Device OS’s own validation: another platform, a bad CRC', async () => {
    const argonBoot = await update({}, built(12, 'bootloader', 3100));
    expect(argonBoot.r.ok ? '' : argonBoot.r.error.code).toBe('DEVICE_UPDATE_REJECTED_PLATFORM');
    bus?.dispose();
    const corrupt = await update({}, built(13, 'bootloader', 3100, true));
    expect(corrupt.r.ok ? '' : corrupt.r.error.code).toBe('DEVICE_UPDATE_REJECTED_INTEGRITY');
    expect(corrupt.device.modules.find((m) => m.func === 2)?.version).toBe(3000);
  });

  it.each([
    [-1340, 'DEVICE_UPDATE_REJECTED_DEPENDENCY', 1],
    [-1380, 'DEVICE_UPDATES_DISABLED', 1],
    [-1801, 'DEVICE_PROTECTED', 1],
  ] as const)('does not retry a refusal (%i → %s)', async (result, code, starts) => {
    const { r } = await update({ faults: { refuseUpdate: { result } } }, built(13, 'bootloader', 3100));
    expect(r.ok ? '' : r.error.code).toBe(code);
    expect(r.ok ? undefined : r.error.details).toMatchObject({ attempts: starts });
  });

  it('retries a device busy with another update (-210 at START) and then installs', async () => {
    const { r } = await update(
      { faults: { refuseUpdate: { result: -210, times: 2 } } },
      built(13, 'bootloader', 3100),
    );
    expect(r.ok && r.value.attempts).toBe(3);
  });

  it('restarts from START after a DATA refusal', async () => {
    const { r } = await update({ faults: { refuseUpdate: { result: -290 } } }, built(13, 'bootloader', 3100));
    expect(r.ok && r.value.attempts).toBe(2);
  });

  it('calls a device that accepted FINISH but comes back with the old version DEVICE_UPDATE_NOT_APPLIED', async () => {
    const { r } = await update({ faults: { updateNotApplied: true } }, built(13, 'bootloader', 3100));
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
    expect(r.ok ? '' : r.error.message).toContain('still at version 3000');
  });

  it('installs an asset: sent as any module, verified after the reset by GET_ASSET_INFO (name and content hash)', async () => {
    const { image, contents } = asset('sound.bin');
    expect(image.asset).toEqual({ name: 'sound.bin', hash: sha256(contents) });
    const { r, device, progress } = await update({}, image);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({
      function: 'asset',
      hash: sha256(contents),
      hashCheck: 'matched',
      attempts: 1,
    });
    expect(device.assets.map((a) => a.name)).toEqual(['sound.bin']);
    const phases = progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases).toEqual(['preparing', 'sending', 'applying', 'rebooting', 'verifying']);
  });

  it('calls an asset missing after the reset DEVICE_UPDATE_NOT_APPLIED', async () => {
    const { r, device } = await update({ faults: { updateNotApplied: true } }, asset('sound.bin').image);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ asset: 'sound.bin', reported: [] });
    expect(device.assets).toEqual([]);
  });

  it('refuses an unprotected bootloader on a protected device (Device Protection)', async () => {
    const { r } = await update({ protection: 'service' }, built(13, 'bootloader', 3100));
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_PROTECTED');
  });
});

describe.skipIf(!existsSync(fixtures))('real binaries against the simulated Device OS (../shared)', () => {
  it('installs the Tracker bootloader 5.6.0', async () => {
    const image = fromFixture('tracker-bootloader@5.6.0.bin');
    const { r } = await update({ platform: 'tracker' }, image);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({
      function: 'bootloader',
      version: image.module.version,
      hashCheck: 'matched',
    });
  });

  it('installs the P2 bootloader 5.6.0 (RTL872x: prefix behind the image header)', async () => {
    const image = fromFixture('p2-bootloader@5.6.0.bin');
    const { r } = await update({ platform: 'p2' }, image);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({ function: 'bootloader', version: 2400, hashCheck: 'matched' });
  });

  it('installs the Argon NCP firmware: applied before the reset, verified by version', async () => {
    const image = fromFixture('argon-ncp-firmware-0.0.5-ota.bin');
    const { r, progress } = await update({ platform: 'argon' }, image, { heartbeatMs: 1 });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({ function: 'ncp', version: 5, hashCheck: 'not-comparable' });
    expect(progress.filter((p) => p.phase === 'applying').every((p) => p.expectedMs === 120_000)).toBe(true);
  });

  it('names an NCP update the device lost halfway (reset during the install)', async () => {
    const image = fromFixture('argon-ncp-firmware-0.0.5-ota.bin');
    const { r } = await update({ platform: 'argon', faults: { resetDuringNcpUpdate: true } }, image);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
  });

  it('refuses NCP firmware on a device without an updatable NCP', async () => {
    const { r } = await update({}, fromFixture('argon-ncp-firmware-0.0.5-ota.bin'));
    expect(r.ok ? '' : r.error.code).toMatch(/^DEVICE_UPDATE_REJECTED/);
  });
});

describe('setup done and protection against the simulated Device OS', () => {
  const fastReq = { checkIntervals: [1, 2, 5] };

  it('sets the flag on a Gen 3 device with Device OS 3.x that boots into listening mode without it', async () => {
    const { bus, info } = await setup({
      deviceOs: { version: '3.3.1', systemModuleVersion: 3301 },
      setupDone: false,
    });
    const handle = await bus.open(info);
    try {
      expect(await isSetupDone(handle, fastReq)).toEqual({ ok: true, value: false });
      expect((await setSetupDone(handle, true, fastReq)).ok).toBe(true);
      expect(await isSetupDone(handle, fastReq)).toEqual({ ok: true, value: true });
    } finally {
      await handle.close();
    }
  });

  it('sees the 4.0+ no-op: always done, done = false refused', async () => {
    const { bus, info } = await setup({});
    const handle = await bus.open(info);
    try {
      expect(await isSetupDone(handle, fastReq)).toEqual({ ok: true, value: true });
      const r = await setSetupDone(handle, false, fastReq);
      expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_NOT_SUPPORTED');
    } finally {
      await handle.close();
    }
  });

  it('reads the protection state in normal mode, and Device OS 5 as not protected', async () => {
    for (const [options, expected] of [
      [{ protection: 'protected' }, { protected: true, mode: 'protected' }],
      [{ protection: 'service' }, { protected: false, overridden: true, mode: 'service' }],
      [{}, { protected: false, mode: 'open', source: 'control-request' }],
      [
        { deviceOs: { version: '5.8.0', systemModuleVersion: 5800 } },
        { protected: false, source: 'not-supported' },
      ],
    ] as const) {
      const { bus, info } = await setup(options as Partial<SimDeviceOptions>);
      const handle = await bus.open(info);
      try {
        const r = await getProtectedState(handle, fastReq);
        expect(r.ok && r.value).toMatchObject(expected);
      } finally {
        await handle.close();
        bus.dispose();
      }
    }
  });

  /** A device powered up in DFU mode (a protected one refuses DFU_MODE: -1801). */
  const inDfu = async (options: Partial<SimDeviceOptions>) => {
    const { bus, info } = await setup({ ...options, mode: 'dfu' });
    return DfuSession.open(await bus.open(info));
  };

  it('reads 0xFA in DFU mode (Device OS ≥ 6.1.2) and the layout before it', async () => {
    const current = await inDfu({ protection: 'protected' });
    try {
      const r = await readDfuProtection(current, { timeoutMs: 1000 });
      expect(r.ok && r.value).toMatchObject({ protected: true, source: 'dfu-descriptor' });
    } finally {
      await current.close();
      bus?.dispose();
    }
    const older = await inDfu({
      protection: 'protected',
      deviceOs: { version: '6.1.0', systemModuleVersion: 6100 },
    });
    try {
      const r = await readDfuProtection(older, { timeoutMs: 1000 });
      expect(r.ok && r.value).toMatchObject({ protected: true, source: 'dfu-layout' });
    } finally {
      await older.close();
      bus?.dispose();
    }
    const open = await inDfu({ deviceOs: { version: '6.1.0', systemModuleVersion: 6100 } });
    try {
      const r = await readDfuProtection(open, { timeoutMs: 1000 });
      expect(r.ok && r.value).toMatchObject({ protected: false, source: 'dfu-layout' });
    } finally {
      await open.close();
    }
  });

  it('reads MODULE_INFO hashes from the simulated device as the suffix SHA-256', async () => {
    const image = built(13, 'bootloader', 3100);
    const { r } = await update({}, image);
    expect(r.ok).toBe(true);
    if (!r.ok || !bus) return;
    const h = await bus.open(r.value.device);
    try {
      const mods = await getModuleInfo(h, fastReq);
      expect(mods.ok && mods.value.find((m) => m.function === 'bootloader')?.hash).toBe(image.module.sha256);
    } finally {
      await h.close();
    }
  });
});

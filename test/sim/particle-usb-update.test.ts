import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimBus, SimDevice, SimModule } from '../../core/sim';
import { publicKeyFingerprint, signServerConfirm, simCloudKeys } from '../../core/sim/protection';
import { decode } from './control';
import { nextConnect } from './helpers';
import { openAgain, openWithParticleUsb, type ParticleDevice } from './particle-usb-adapter';

/*
 * The independent oracle for the Device OS behaviours (issue 12 part E): particle-usb 4.1.0's own
 * updateFirmware() installs real Particle binaries on the simulated device, and its
 * getFirmwareModuleInfo(), setSetupDone() and getProtectionState() must agree with the simulator.
 * Nobody here wrote particle-usb, so the message shapes, chunking and result handling are theirs.
 */

const FIXTURES = join(__dirname, '../../../shared/fixtures/particle-binaries');

const require = createRequire(import.meta.url);
const { PollingPolicy } = require('particle-usb/src/device-base') as {
  PollingPolicy: { DEFAULT: (attempt: number) => number };
};
const defaultPolling = PollingPolicy.DEFAULT;

/*
 * particle-usb waits 50 ms before its first CHECK of every request: 810 chunks of an NCP image
 * would take 40 s of pure host pacing. The first CHECKs come at once here (the device's own time is
 * scaled to 0); the protocol is unchanged.
 */
beforeAll(() => {
  PollingPolicy.DEFAULT = (n) => (n < 20 ? 0 : defaultPolling(n));
});
afterAll(() => {
  PollingPolicy.DEFAULT = defaultPolling;
});

let bus: SimBus | undefined;
afterEach(() => bus?.dispose());

/** particle-usb's error for a failed call: its class name and the Device OS result it carries. */
const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; result?: unknown };
    return { name: err.name, result: err.result };
  }
  throw new Error('expected the call to fail');
};

const open = async (...args: Parameters<typeof openWithParticleUsb>) => {
  const r = await openWithParticleUsb(...args);
  bus = r.bus;
  return r;
};

/** particle-usb's updateFirmware, then the reset Device OS always does, then particle-usb opens it again. */
const updateAndReopen = async (
  sim: SimDevice,
  dev: ParticleDevice,
  image: Buffer,
): Promise<ParticleDevice> => {
  const back = nextConnect(sim);
  await dev.updateFirmware(image);
  await back;
  if (!bus) throw new Error('no bus');
  return (await openAgain(bus)).dev;
};

/** A device one bootloader release behind, so the update visibly changes the version. */
const olderSet = (
  bootloader: number,
  userIndex: number,
  maxUser: number,
  extra: SimModule[] = [],
): SimModule[] => [
  { func: 2, index: 0, version: bootloader, size: 40_000, maxSize: 49_152 },
  ...extra,
  {
    func: 4,
    index: 1,
    version: 6201,
    size: 630_000,
    dependencies: [{ func: 2, index: 0, version: bootloader }],
  },
  { func: 5, index: userIndex, version: 6, size: 12_000, maxSize: maxUser },
];

describe.skipIf(!existsSync(FIXTURES))(
  'particle-usb 4.1.0 updateFirmware() on the simulator (real binaries from ../shared)',
  () => {
    const load = (name: string) => readFileSync(join(FIXTURES, name));
    const expected = (
      existsSync(FIXTURES) ? JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) : {}
    ) as Record<string, { moduleVersion: number; fwUniqueId: string }>;

    it.each([
      ['tracker', 'tracker-bootloader@5.6.0.bin', olderSet(2300, 2, 256 * 1024)],
      // The P2 bootloader depends on prebootloader part 1 (bootloader index 2) version 7.
      [
        'p2',
        'p2-bootloader@5.6.0.bin',
        olderSet(2300, 1, 1536 * 1024, [{ func: 2, index: 2, version: 7, size: 1 }]),
      ],
    ])(
      '%s: installs %s; getFirmwareModuleInfo reports it with its SHA-256',
      async (platform, file, modules) => {
        const { sim, dev } = await open({ platform, seed: file, modules });
        const again = await updateAndReopen(sim, dev, load(file));
        const bootloader = (await again.getFirmwareModuleInfo()).find((m) => m.type === 'BOOTLOADER');
        expect(bootloader).toMatchObject({ version: expected[file]?.moduleVersion, failedFlags: 0 });
        expect(bootloader?.hash).toBe(expected[file]?.fwUniqueId);
        expect(sim.modules.find((m) => m.func === 2)?.version).toBe(expected[file]?.moduleVersion);
      },
    );

    it('argon: installs the NCP image its prefix names (platform 12, ESP32) before the reset', async () => {
      const file = 'argon-ncp-firmware-0.0.5-ota.bin';
      const { sim, dev } = await open({ platform: 'argon', seed: 'ncp' });
      expect((await dev.getFirmwareModuleInfo()).some((m) => m.type === 'NCP_FIRMWARE')).toBe(false);
      const again = await updateAndReopen(sim, dev, load(file));
      const ncp = (await again.getFirmwareModuleInfo()).find((m) => m.type === 'NCP_FIRMWARE');
      expect(ncp).toMatchObject({ index: 0, version: expected[file]?.moduleVersion });
    });

    it('argon: a SoftDevice (DROP_MODULE_INFO) lands at 0x1000 without its prefix and reports as RADIO_STACK', async () => {
      const file = 'argon-softdevice-6.1.1.bin';
      const image = load(file);
      const { sim, dev } = await open({ platform: 'argon', seed: 'sd' });
      const again = await updateAndReopen(sim, dev, image);
      const radio = (await again.getFirmwareModuleInfo()).find((m) => m.type === 'RADIO_STACK');
      expect(radio).toMatchObject({ index: 0, version: expected[file]?.moduleVersion });
      const body = image.subarray(24);
      expect(Buffer.from(sim.flash.get(0)?.read(0x1000, body.length) ?? [])).toEqual(body);
    });

    it('a tracker NCP update with the argon image is refused with the platform error', async () => {
      const { sim, dev } = await open({ platform: 'tracker', seed: 'wrong-ncp' });
      // -1360 OTA_INVALID_PLATFORM: particle-usb has no message of its own for it.
      expect(await failure(dev.updateFirmware(load('argon-ncp-firmware-0.0.5-ota.bin')))).toEqual({
        name: 'RequestError',
        result: -1360,
      });
      expect(sim.stats.reenumerations).toBe(0);
    });

    it('Service Mode: a protected bootloader is accepted and keeps protection; an open one is refused', async () => {
      const { sim, dev } = await open({ platform: 'tracker', seed: 'svc', protection: 'service' });
      expect(await dev.getProtectionState()).toEqual({ protected: false, overridden: true });
      // -1801: particle-usb turns it into its DeviceProtectionError.
      expect((await failure(dev.updateFirmware(load('tracker-bootloader@5.6.0.bin')))).name).toBe(
        'DeviceProtectionError',
      );
      const again = await updateAndReopen(sim, dev, load('tracker-bootloader-protected.bin'));
      expect(await again.getProtectionState()).toEqual({ protected: false, overridden: true });
      expect(sim.protection).toBe('service');
    });
  },
);

describe('particle-usb 4.1.0 setSetupDone() / getProtectionState() / unprotectDevice() on the simulator', () => {
  it('setSetupDone on a Gen 3 with Device OS 3.x writes the flag; the device then boots as the flag says', async () => {
    const { sim, dev } = await open({ platform: 'boron', seed: 'setup', deviceOs: { version: '3.3.1' } });
    if (!dev.setSetupDone) throw new Error('particle-usb gave a Gen 3 device no setSetupDone');
    await dev.setSetupDone(false);
    const isDone = async (d: ParticleDevice) =>
      Boolean(
        decode('IsDeviceSetupDoneReply', (await d.sendControlRequest(74, null)).data ?? new Uint8Array())
          .done,
      );
    expect(await isDone(dev)).toBe(false);
    expect(sim.setupDone).toBe(false);
    const back = nextConnect(sim);
    await dev.reset();
    await back;
    const again = (await openAgain(bus as SimBus)).dev;
    expect(await again.getDeviceMode()).toBe('LISTENING');
    await again.setSetupDone?.(true);
    expect(await isDone(again)).toBe(true);
  });

  it('setSetupDone on Device OS ≥ 4 is accepted and changes nothing', async () => {
    const { sim, dev } = await open({ platform: 'argon', seed: 'setup4' });
    await dev.setSetupDone?.(true);
    expect(await failure(dev.setSetupDone?.(false) ?? Promise.resolve())).toEqual({
      name: 'RequestError',
      result: -120,
    });
    expect(sim.setupDone).toBe(true);
  });

  it('getProtectionState agrees in normal and DFU mode, open, protected and in Service Mode', async () => {
    for (const protection of ['open', 'protected', 'service'] as const) {
      const normal = await open({ platform: 'boron', seed: protection, protection });
      const inNormal = await normal.dev.getProtectionState();
      bus?.dispose();
      const dfuMode = await open({ platform: 'boron', seed: protection, protection, mode: 'dfu' });
      const inDfu = await dfuMode.dev.getProtectionState();
      bus?.dispose();
      const want = {
        open: { protected: false },
        protected: { protected: true },
        service: { protected: false, overridden: true },
      }[protection];
      expect(inNormal).toEqual(want);
      expect(inDfu).toMatchObject(want);
    }
  });

  it('getProtectionState before 6.1.2 in DFU mode falls back to the layout (all segments erasable only)', async () => {
    const { dev } = await open({
      platform: 'p2',
      mode: 'dfu',
      deviceOs: { version: '6.1.1' },
      protection: 'protected',
    });
    expect(await dev.getProtectionState()).toEqual({ protected: true, overridden: null });
  });

  it('unprotectDevice prepare/confirm enters Service Mode; reset in DFU mode leaves it (DfuSe 0xFB)', async () => {
    const { sim, dev } = await open({ platform: 'boron', seed: 'unprotect', protection: 'protected' });
    const serverNonce = randomBytes(32);
    const p = await dev.unprotectDevice({ action: 'prepare', serverNonce });
    expect(p?.protected).toBe(true);
    const serverSignature = Buffer.from(
      signServerConfirm({
        deviceId: sim.deviceId,
        serverNonce,
        deviceNonce: p?.deviceNonce ?? Buffer.alloc(0),
        devicePublicKeyFingerprint: p?.devicePublicKeyFingerprint ?? Buffer.alloc(0),
      }),
    );
    await dev.unprotectDevice({
      action: 'confirm',
      serverSignature,
      serverPublicKeyFingerprint: Buffer.from(publicKeyFingerprint(simCloudKeys().publicKey)),
    });
    expect(await dev.getProtectionState()).toEqual({ protected: false, overridden: true });

    const toDfu = nextConnect(sim);
    await dev.sendControlRequest(50, null);
    await toDfu;
    const inDfu = (await openAgain(bus as SimBus)).dev;
    expect(await inDfu.getProtectionState()).toEqual({ protected: false, overridden: true });
    await inDfu.unprotectDevice({ action: 'reset' });
    expect(await inDfu.getProtectionState()).toEqual({ protected: true });
    expect(sim.protection).toBe('protected');
  });

  it('a protected device in DFU mode refuses particle-usb downloads (its layout says not writable)', async () => {
    const { dev } = await open({ platform: 'boron', mode: 'dfu', protection: 'protected' });
    await dev._dfu.setAltSetting(0);
    expect((await failure(dev._dfu.doDownload({ startAddr: 0xb4000, data: Buffer.alloc(100) }))).name).toBe(
      'DeviceProtectionError',
    );
  });
});

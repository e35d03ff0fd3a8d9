import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { PLATFORMS, platformByName } from '../../core/platforms';
import { SimBus, SimDevice } from '../../core/sim';
import { identifyDevice, normalizeDeviceId, recognise } from '../../core/usb/identity';
import type { UsbDeviceInfo, UsbTransport } from '../../core/usb/transport';
import { FakeControlDevice, fakeInfo } from '../particle/fake-control-device';

const require = createRequire(import.meta.url);
const DeviceOSProtobuf = require('@particle/device-os-protobuf') as {
  encode(name: string, data: Record<string, unknown>): Uint8Array;
};

const boron = platformByName('boron');
if (!boron) throw new Error('platform table lacks boron');

/** A transport over one fake handle (or an open error), for cases the simulator does not model. */
const oneDevice = (info: UsbDeviceInfo, open: () => Promise<FakeControlDevice>): UsbTransport => ({
  list: async () => [info],
  watch: () => () => undefined,
  open,
});

describe('recognise (the allowlist)', () => {
  it('knows Particle PIDs in normal and DFU mode', () => {
    expect(recognise({ vendorId: 0x2b04, productId: 0xc00d })).toMatchObject({
      kind: 'particle',
      dfu: false,
    });
    expect(recognise({ vendorId: 0x2b04, productId: 0xd020 })).toMatchObject({ kind: 'particle', dfu: true });
  });

  it('ignores other vendors and unknown Particle PIDs', () => {
    expect(recognise({ vendorId: 0x0483, productId: 0xdf11 })).toEqual({ kind: 'ignored', reason: 'vendor' });
    expect(recognise({ vendorId: 0x2b04, productId: 0xc0ff })).toEqual({
      kind: 'ignored',
      reason: 'product',
    });
    expect(recognise({ vendorId: 0x2b04, productId: 0xe00d })).toEqual({
      kind: 'ignored',
      reason: 'product',
    });
  });
});

describe('normalizeDeviceId', () => {
  it('lower-cases and strips non-printables', () => {
    expect(normalizeDeviceId('E00FCE68\u0000AAAAAAAAAAAAAAAA\u0007')).toEqual({
      id: 'e00fce68aaaaaaaaaaaaaaaa',
      valid: true,
    });
  });
  it('flags anything that is not 24 hex characters', () => {
    expect(normalizeDeviceId('PH-123').valid).toBe(false);
    expect(normalizeDeviceId(undefined)).toEqual({ id: '', valid: false });
    expect(normalizeDeviceId('e00fce68aaaaaaaaaaaaaaaag').valid).toBe(false);
  });
});

describe('identifyDevice on the simulated bus', () => {
  let bus: SimBus;
  afterEach(() => bus.dispose());

  const plugged = async (mode: 'normal' | 'listening' | 'dfu', controlRequests = true) => {
    bus = new SimBus();
    const d = new SimDevice({
      platform: 'boron',
      seed: 3,
      mode,
      timeScale: 0,
      deviceOs: { controlRequests },
    });
    bus.plug(d, '1-1.2');
    const info = (await bus.list())[0] as UsbDeviceInfo;
    return { d, info };
  };

  it.each([
    ['normal', 'normal'],
    ['listening', 'listening'],
    ['dfu', 'dfu'],
  ] as const)('reports %s mode', async (start, expected) => {
    const { d, info } = await plugged(start);
    const r = recognise(info);
    if (r.kind !== 'particle') throw new Error('not recognised');
    const id = await identifyDevice(bus, info, r.platform, r.dfu, {
      serialPorts: [
        { path: '/dev/ttyACM3', vendorId: 0x2b04, productId: 0xc00d, serialNumber: d.deviceId.toUpperCase() },
      ],
    });
    expect(id).toMatchObject({
      portPath: '1-1.2',
      platform: 'boron',
      platformId: 13,
      mode: expected,
      deviceId: d.deviceId,
      deviceIdStatus: 'serial',
      serialPath: start === 'dfu' ? undefined : '/dev/ttyACM3',
      problems: [],
    });
  });

  it('reports "unknown" mode for an old Device OS that does not answer', async () => {
    const { info } = await plugged('normal', false);
    const id = await identifyDevice(bus, info, boron, false, { requestTimeoutMs: 300 });
    expect(id.mode).toBe('unknown');
    expect(id.deviceId).toBeDefined();
  });
});

describe('identifyDevice with a bad serial string', () => {
  it('confirms the ID with GET_DEVICE_ID', async () => {
    const info = fakeInfo({ serialNumber: 'PHOTON-1' });
    const dev = new FakeControlDevice({
      replies: {
        72: { data: new Uint8Array(0) },
        20: {
          data: new Uint8Array(
            DeviceOSProtobuf.encode('GetDeviceIdReply', { id: 'ABCDEF0123456789ABCDEF01' }),
          ),
        },
      },
    });
    const id = await identifyDevice(
      oneDevice(info, async () => dev),
      info,
      boron,
      false,
    );
    expect(id).toMatchObject({
      deviceId: 'abcdef0123456789abcdef01',
      deviceIdStatus: 'confirmed',
      mode: 'normal',
      problems: [],
    });
    expect(dev.closed).toBe(true);
  });

  it('flags the device when the ID cannot be confirmed (DFU mode)', async () => {
    const info = fakeInfo({ serialNumber: '00000000', productId: 0xd00d });
    const id = await identifyDevice(
      oneDevice(info, async () => new FakeControlDevice()),
      info,
      boron,
      true,
    );
    expect(id.deviceId).toBeUndefined();
    expect(id.deviceIdStatus).toBe('invalid');
    expect(id.problems.map((p) => p.code)).toEqual(['DEVICE_ID_INVALID']);
  });

  it('keeps what enumeration said when the device cannot be opened, and says why', async () => {
    const info = fakeInfo();
    const denied = async (): Promise<FakeControlDevice> => {
      throw new LsFailure({ code: 'USB_ACCESS_DENIED', message: 'denied' });
    };
    const id = await identifyDevice(oneDevice(info, denied), info, boron, false);
    expect(id.mode).toBe('unknown');
    expect(id.deviceId).toBe('0123456789abcdef01234567');
    expect(id.problems.map((p) => p.code)).toEqual(['USB_ACCESS_DENIED']);
  });
});

describe('the udev rules file', () => {
  const rules = readFileSync(
    join(import.meta.dirname, '..', '..', 'packaging', 'linux', '99-linestation-particle.rules'),
    'utf8',
  );
  const lines = rules.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  /** udev's fnmatch-style glob for the few forms we use: literal, ?, [set]. */
  const globToRegExp = (glob: string): RegExp =>
    new RegExp(`^${glob.replace(/\?/g, '.').replace(/\[([^\]]+)\]/g, '[$1]')}$`);

  it('grants access to, and hides from ModemManager, every PID the allowlist recognises', () => {
    const grants = lines.filter((l) => /MODE="0666"|TAG\+="uaccess"/.test(l));
    expect(grants.length).toBeGreaterThanOrEqual(2);
    for (const line of grants) {
      expect(line).toMatch(/ATTRS?\{idVendor\}=="2b04"/);
      expect(line).toContain('ENV{ID_MM_DEVICE_IGNORE}="1"');
      const glob = /ATTRS?\{idProduct\}=="([^"]+)"/.exec(line)?.[1] ?? '';
      const re = globToRegExp(glob);
      for (const p of PLATFORMS.filter((x) => x.usb.vendorId === 0x2b04)) {
        expect(p.usb.normalProductId.toString(16)).toMatch(re);
        expect(p.usb.dfuProductId.toString(16)).toMatch(re);
      }
      expect('c10d').not.toMatch(re);
    }
  });
});

import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import type { ControlRecipient, ControlRequestType, UsbDeviceHandle } from '../../core/usb/transport';
import { pattern } from './helpers';

/*
 * The acceptance proof: particle-usb 4.1.0's own classes (DeviceBase/Device and its Dfu) drive the
 * simulator through a thin adapter that gives them the shape of their node-usb UsbDevice. If the
 * simulator answered anything differently from real firmware in a way particle-usb depends on
 * (descriptor layout, reply formats, state sequence), these tests fail.
 */

const require = createRequire(import.meta.url);

interface Setup {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength?: number;
}
interface PlatformInfo {
  type: string;
  dfu: boolean;
  quirks: Record<string, boolean>;
}
interface ParticleDevice {
  open(): Promise<void>;
  close(): Promise<void>;
  readonly id: string;
  readonly firmwareVersion: string | null;
  reset(): Promise<void>;
  getDeviceMode(): Promise<string>;
  getFirmwareModuleInfo(): Promise<{ type: string; index: number; version: number }[]>;
  sendControlRequest(type: number, data: Buffer | null): Promise<{ result: number; data?: Buffer }>;
  readonly _dfu: {
    setAltSetting(alt: number): Promise<void>;
    doDownload(o: { startAddr: number; data: Buffer; noErase?: boolean }): Promise<void>;
    doUpload(o: { startAddr: number; maxSize: number }): Promise<Buffer>;
    abortToIdle(): Promise<void>;
  };
}
type DeviceCtor = new (dev: unknown, info: PlatformInfo) => ParticleDevice;

const { platformForUsbIds } = require('particle-usb/src/device-base') as {
  platformForUsbIds(vid: number, pid: number): PlatformInfo | undefined;
};
const { Device } = require('particle-usb/src/device') as { Device: DeviceCtor };
const { UsbStallError, UsbError } = require('particle-usb/src/error') as {
  UsbStallError: new (m: string) => Error;
  UsbError: new (m: string) => Error;
};

const TYPES: ControlRequestType[] = ['standard', 'class', 'vendor'];
const RECIPIENTS: ControlRecipient[] = ['device', 'interface', 'endpoint', 'other'];

/** particle-usb's UsbDevice (src/usb-device-node.js) on top of our UsbDeviceHandle. */
class Adapter {
  quirks: Record<string, boolean> = {};
  serialNumber = '';
  constructor(
    private readonly handle: UsbDeviceHandle,
    readonly vendorId: number,
    readonly productId: number,
  ) {}
  private control(s: Setup) {
    return {
      requestType: TYPES[(s.bmRequestType >> 5) & 3] ?? 'vendor',
      recipient: RECIPIENTS[s.bmRequestType & 3] ?? 'device',
      request: s.bRequest,
      value: s.wValue,
      index: s.wIndex,
    };
  }
  private wrap(e: unknown): Error {
    if (e instanceof LsFailure && e.error.code === 'USB_STALL') return new UsbStallError(e.message);
    return new UsbError(e instanceof Error ? e.message : String(e));
  }
  async open() {
    const s = await this.transferIn({
      bmRequestType: 0x80,
      bRequest: 6,
      wValue: 0x0303,
      wIndex: 0x409,
      wLength: 255,
    });
    this.serialNumber = Buffer.from(s.subarray(2)).toString('utf16le');
  }
  async close() {}
  async transferIn(setup: Setup): Promise<Buffer> {
    try {
      const d = await this.handle.controlIn(this.control(setup), setup.wLength ?? 0, { timeoutMs: 5000 });
      return Buffer.from(d);
    } catch (e) {
      throw this.wrap(e);
    }
  }
  async transferOut(setup: Setup, data?: Buffer): Promise<void> {
    let payload = data;
    if (!payload) payload = Buffer.alloc(this.quirks.controlOutTransfersRequireDataStage ? 1 : 0);
    try {
      await this.handle.controlOut(this.control(setup), new Uint8Array(payload), { timeoutMs: 5000 });
    } catch (e) {
      throw this.wrap(e);
    }
  }
  claimInterface(i: number) {
    return this.handle.claimInterface(i);
  }
  releaseInterface(i: number) {
    return this.handle.releaseInterface(i);
  }
  setAltSetting(i: number, alt: number) {
    return this.handle.selectAlternate(i, alt);
  }
}

let bus: SimBus;
afterEach(() => bus?.dispose());

const openWithParticleUsb = async (options: SimDeviceOptions) => {
  bus = new SimBus();
  const sim = new SimDevice({ timeScale: 0, ...options });
  bus.plug(sim, '1-1.1');
  const [info] = await bus.list();
  if (!info) throw new Error('no device');
  const platform = platformForUsbIds(info.vendorId, info.productId);
  if (!platform) throw new Error('particle-usb does not recognise the simulated VID/PID');
  const handle = await bus.open(info);
  const dev = new Device(new Adapter(handle, info.vendorId, info.productId), platform);
  await dev.open();
  return { sim, dev, platform };
};

describe('particle-usb 4.1.0 against the simulator', () => {
  it.each([
    ['boron', 0xb4000],
    ['photon', 0x080a0000],
    ['p2', 0x08500000],
  ])('%s in DFU mode: download with erase, upload, identical bytes, then leave', async (name, address) => {
    const { sim, dev, platform } = await openWithParticleUsb({ platform: name, mode: 'dfu', seed: name });
    expect(platform.dfu).toBe(true);
    expect(dev.id).toBe(sim.deviceId);
    await dev._dfu.setAltSetting(0);
    const image = Buffer.from(pattern(10_000, 5));
    await dev._dfu.doDownload({ startAddr: address, data: image });
    expect(Buffer.from(sim.flash.get(0)?.read(address, image.length) ?? [])).toEqual(image);
    // doUpload sends CLRSTATUS when not in dfuIDLE, which a Particle bootloader STALLs outside
    // dfuERROR (Device OS usbd_dfu); ABORT first, as a careful host does.
    await dev._dfu.abortToIdle();
    const back = await dev._dfu.doUpload({ startAddr: address, maxSize: image.length });
    expect(back).toEqual(image);
    const reenumerated = new Promise<void>((resolve) => sim.on((e) => e.type === 'connect' && resolve()));
    await dev.reset(); // DFU leave
    await reenumerated;
    expect(sim.mode).toBe('normal');
    expect(sim.deviceId).toBe(dev.id);
  });

  it('normal mode: open reads the system version, then device mode, module info and a raw request work', async () => {
    const { sim, dev } = await openWithParticleUsb({
      platform: 'argon',
      seed: 3,
      deviceOs: { version: '6.2.1' },
    });
    expect(dev.firmwareVersion).toBe('6.2.1');
    expect(dev.id).toBe(sim.deviceId);
    expect(await dev.getDeviceMode()).toBe('NORMAL');
    const modules = await dev.getFirmwareModuleInfo();
    expect(modules.map((m) => [m.type, m.version])).toEqual([
      ['BOOTLOADER', 3000],
      ['SYSTEM_PART', 6201],
      ['USER_PART', 6],
    ]);
    const r = await dev.sendControlRequest(20, null);
    expect(r.result).toBe(0);
    await dev.close();
  });

  it('doUpload straight after doDownload fails: CLRSTATUS outside dfuERROR stalls, as on Device OS', async () => {
    const { dev } = await openWithParticleUsb({ platform: 'argon', mode: 'dfu' });
    await dev._dfu.setAltSetting(0);
    await dev._dfu.doDownload({ startAddr: 0xb4000, data: Buffer.from(pattern(100)) });
    await expect(dev._dfu.doUpload({ startAddr: 0xb4000, maxSize: 100 })).rejects.toThrow(/stall/i);
  });

  it('listening mode is reported as LISTENING', async () => {
    const { dev } = await openWithParticleUsb({ platform: 'boron', mode: 'listening' });
    expect(await dev.getDeviceMode()).toBe('LISTENING');
    await dev.close();
  });

  it('DFU_MODE (50) completes, then the device re-enumerates with the DFU PID', async () => {
    const { sim, dev } = await openWithParticleUsb({ platform: 'msom', seed: 9 });
    const back = new Promise<void>((resolve) => sim.on((e) => e.type === 'connect' && resolve()));
    const r = await dev.sendControlRequest(50, null);
    expect(r.result).toBe(0);
    await back;
    expect(sim.descriptors.productId).toBe(0xd023);
  });
});

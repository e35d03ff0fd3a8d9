import { createRequire } from 'node:module';
import { LsFailure } from '../../core/errors/result';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import type { ControlRecipient, ControlRequestType, UsbDeviceHandle } from '../../core/usb/transport';

/*
 * particle-usb 4.1.0's own classes on top of the simulated bus: a thin adapter gives them the shape
 * of their node-usb UsbDevice (src/usb-device-node.js). Used by the acceptance proofs in
 * particle-usb*.test.ts: if the simulator answered anything differently from real firmware in a
 * way particle-usb depends on, those tests fail.
 */

const require = createRequire(import.meta.url);

interface Setup {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength?: number;
}
export interface PlatformInfo {
  type: string;
  dfu: boolean;
  quirks: Record<string, boolean>;
}
export interface ParticleDevice {
  open(): Promise<void>;
  close(): Promise<void>;
  readonly id: string;
  readonly firmwareVersion: string | null;
  reset(): Promise<void>;
  getDeviceMode(): Promise<string>;
  getFirmwareModuleInfo(): Promise<
    { type: string; index: number; version: number; hash?: string; failedFlags?: number }[]
  >;
  sendControlRequest(type: number, data: Buffer | null): Promise<{ result: number; data?: Buffer }>;
  updateFirmware(data: Buffer, options?: { timeout?: number }): Promise<void>;
  getProtectionState(): Promise<{ protected: boolean; overridden?: boolean | null }>;
  unprotectDevice(o: {
    action: 'prepare' | 'confirm' | 'reset';
    serverNonce?: Buffer;
    serverSignature?: Buffer;
    serverPublicKeyFingerprint?: Buffer;
  }): Promise<
    | {
        protected: boolean;
        deviceNonce?: Buffer;
        deviceSignature?: Buffer;
        devicePublicKeyFingerprint?: Buffer;
      }
    | undefined
  >;
  /** Gen 3 classes only (particle-usb src/gen3-device.js). */
  setSetupDone?(done?: boolean): Promise<void>;
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
/** Gives a device its platform's class (Gen3Device adds setSetupDone, ...), as particle-usb's getDevices does. */
const { setDevicePrototype } = require('particle-usb/src/set-device-prototype') as {
  setDevicePrototype(d: ParticleDevice): ParticleDevice;
};
const { UsbStallError, UsbError } = require('particle-usb/src/error') as {
  UsbStallError: new (m: string) => Error;
  UsbError: new (m: string) => Error;
};

const TYPES: ControlRequestType[] = ['standard', 'class', 'vendor'];
const RECIPIENTS: ControlRecipient[] = ['device', 'interface', 'endpoint', 'other'];

/** particle-usb's UsbDevice (src/usb-device-node.js) on top of our UsbDeviceHandle. */
export class Adapter {
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

/** Plugs a simulated device into a fresh bus and opens it with particle-usb. */
export const openWithParticleUsb = async (options: SimDeviceOptions, bus: SimBus = new SimBus()) => {
  const sim = new SimDevice({ timeScale: 0, ...options });
  bus.plug(sim, '1-1.1');
  return { sim, bus, ...(await openAgain(bus)) };
};

/** Opens whatever is on the bus now (after a reset the device enumerates afresh). */
export const openAgain = async (bus: SimBus) => {
  const [info] = await bus.list();
  if (!info) throw new Error('no device');
  const platform = platformForUsbIds(info.vendorId, info.productId);
  if (!platform) throw new Error('particle-usb does not recognise the simulated VID/PID');
  const handle = await bus.open(info);
  const dev = setDevicePrototype(new Device(new Adapter(handle, info.vendorId, info.productId), platform));
  await dev.open();
  return { dev, platform };
};

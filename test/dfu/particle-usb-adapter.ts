import { createRequire } from 'node:module';
import { LsFailure } from '../../core/errors/result';
import { readDeviceDescriptor, readStringDescriptor } from '../../core/usb/descriptors';
import type { ControlSetup, UsbDeviceHandle } from '../../core/usb/transport';

/*
 * particle-usb 4.1.0 opens devices through the legacy node-usb Device API (usb@1/2:
 * `controlTransfer(bmRequestType, bRequest, wValue, wIndex, lengthOrData, cb)`,
 * `interface(n).claim()`, `getStringDescriptor(i, cb)` …). Its own lookup calls
 * `usb.getDeviceList()`, which usb@3 no longer has, so we hand it a device object directly through
 * its public `openNativeUsbDevice`: this adapter speaks that legacy API and forwards every control
 * transfer to a UsbTransport handle (here, a simulated device on a SimBus). Everything above it —
 * particle-usb's DeviceBase, Dfu, DfuDevice — is particle-usb's own code, unmodified.
 */

type Callback<T> = (err: Error | undefined, value?: T) => void;

const REQUEST_TYPE: readonly ControlSetup['requestType'][] = ['standard', 'class', 'vendor'];
const RECIPIENT: readonly ControlSetup['recipient'][] = ['device', 'interface', 'endpoint', 'other'];

/** libusb's words, which particle-usb's wrapUsbError matches on. */
const libusbError = (e: unknown): Error => {
  const code = e instanceof LsFailure ? e.error.code : 'USB_IO';
  const name =
    code === 'USB_STALL'
      ? 'LIBUSB_TRANSFER_STALL'
      : code === 'USB_TIMEOUT'
        ? 'LIBUSB_TRANSFER_TIMED_OUT'
        : code === 'USB_DISCONNECTED'
          ? 'LIBUSB_ERROR_NO_DEVICE'
          : 'LIBUSB_ERROR_IO';
  return new Error(name);
};

export interface LegacyUsbDevice {
  timeout: number;
  readonly deviceDescriptor: {
    readonly idVendor: number;
    readonly idProduct: number;
    readonly iSerialNumber: number;
    readonly iProduct: number;
    readonly iManufacturer: number;
    readonly bcdUSB: number;
  };
  open(): void;
  close(): void;
  getStringDescriptor(index: number, cb: Callback<string>): void;
  controlTransfer(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    dataOrLength: number | Uint8Array,
    cb: Callback<Buffer>,
  ): void;
  interface(n: number): {
    claim(): void;
    release(cb: (err?: Error) => void): void;
    setAltSetting(alt: number, cb: (err?: Error) => void): void;
  };
}

export const legacyUsbDevice = async (handle: UsbDeviceHandle): Promise<LegacyUsbDevice> => {
  const d = await readDeviceDescriptor(handle, { timeoutMs: 5000 });
  const dev: LegacyUsbDevice = {
    timeout: 1000,
    deviceDescriptor: {
      idVendor: d.vendorId,
      idProduct: d.productId,
      iSerialNumber: d.iSerialNumber,
      iProduct: d.iProduct,
      iManufacturer: d.iManufacturer,
      bcdUSB: d.bcdUSB,
    },
    open: () => undefined,
    close: () => undefined,
    getStringDescriptor: (index, cb) => {
      readStringDescriptor(handle, index, { timeoutMs: dev.timeout }).then(
        (s) => cb(undefined, s ?? ''),
        (e: unknown) => cb(libusbError(e)),
      );
    },
    controlTransfer: (bmRequestType, bRequest, wValue, wIndex, dataOrLength, cb) => {
      const setup: ControlSetup = {
        requestType: REQUEST_TYPE[(bmRequestType >> 5) & 3] ?? 'vendor',
        recipient: RECIPIENT[bmRequestType & 0x1f] ?? 'other',
        request: bRequest,
        value: wValue,
        index: wIndex,
      };
      const options = { timeoutMs: dev.timeout };
      if (bmRequestType & 0x80) {
        handle.controlIn(setup, dataOrLength as number, options).then(
          (data) => cb(undefined, Buffer.from(data)),
          (e: unknown) => cb(libusbError(e)),
        );
      } else {
        const data = dataOrLength as Uint8Array;
        handle.controlOut(setup, data.length > 0 ? data : undefined, options).then(
          () => cb(undefined),
          (e: unknown) => cb(libusbError(e)),
        );
      }
    },
    interface: (n) => ({
      claim: () => {
        // node-usb's claim is synchronous; the simulated bus's never fails for a free interface.
        void handle.claimInterface(n);
      },
      release: (cb) => {
        handle.releaseInterface(n).then(
          () => cb(),
          (e: unknown) => cb(libusbError(e)),
        );
      },
      setAltSetting: (alt, cb) => {
        handle.selectAlternate(n, alt).then(
          () => cb(),
          (e: unknown) => cb(libusbError(e)),
        );
      },
    }),
  };
  return dev;
};

/** The slice of particle-usb's device object the proof and the benchmark use. */
export interface ParticleUsbDfuDevice {
  readonly isInDfuMode: boolean;
  readonly id: string;
  writeOverDfu(
    data: Buffer,
    options: { altSetting: number; startAddr: number; noErase?: boolean; leave?: boolean },
  ): Promise<void>;
  readOverDfu(options: { altSetting: number; startAddr: number; size: number }): Promise<Buffer>;
  close(): Promise<void>;
}

interface ParticleUsbModule {
  openNativeUsbDevice(dev: LegacyUsbDevice, options?: unknown): Promise<ParticleUsbDfuDevice>;
}

const require = createRequire(import.meta.url);

/** Opens a device with particle-usb's own code (DeviceBase.open → Dfu.open, DfuDevice mixin). */
export const openWithParticleUsb = async (handle: UsbDeviceHandle): Promise<ParticleUsbDfuDevice> => {
  const particleUsb = require('particle-usb') as ParticleUsbModule;
  return particleUsb.openNativeUsbDevice(await legacyUsbDevice(handle));
};

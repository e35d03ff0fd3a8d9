import { type LsError, toLsError } from '../errors/result';
import { getDeviceId, getDeviceMode } from '../particle/requests';
import { isParticleVendor, type Platform, platformByUsbId } from '../platforms';
import { findSerialPath, type SerialPortEntry } from './serial-ports';
import type { UsbDeviceInfo, UsbTransport } from './transport';

/*
 * Who a USB device is: platform from the PID, mode, device ID from the serial string, where it
 * sits (port path) and its serial port. Only VID 0x2B04 with a PID from our platform table is
 * recognised; anything else is reported as ignored and never opened, so the station cannot poke
 * a keyboard, a hub or another vendor's board with Particle requests.
 */

export type DeviceMode = 'dfu' | 'normal' | 'listening' | 'unknown';

export type Recognition =
  | { readonly kind: 'particle'; readonly platform: Platform; readonly dfu: boolean }
  | { readonly kind: 'ignored'; readonly reason: 'vendor' | 'product' };

export const recognise = (info: Pick<UsbDeviceInfo, 'vendorId' | 'productId'>): Recognition => {
  if (!isParticleVendor(info.vendorId)) return { kind: 'ignored', reason: 'vendor' };
  const hit = platformByUsbId(info.vendorId, info.productId);
  if (!hit) return { kind: 'ignored', reason: 'product' };
  return { kind: 'particle', platform: hit.platform, dfu: hit.mode === 'dfu' };
};

export type DeviceIdStatus =
  /** 24 hex characters from the serial string. */
  | 'serial'
  /** The serial string was not a device ID but GET_DEVICE_ID answered one. */
  | 'confirmed'
  /** Neither gave a valid ID: the device is flagged. */
  | 'invalid';

export interface NormalizedId {
  /** Lower-cased, non-printables stripped. */
  readonly id: string;
  readonly valid: boolean;
}

const DEVICE_ID = /^[0-9a-f]{24}$/;

/** Particle's rule (particle-usb device-base.js): strip non-printables, lower-case. */
export const normalizeDeviceId = (raw: string | undefined): NormalizedId => {
  const id = (raw ?? '').replace(/[^\x20-\x7e]/g, '').toLowerCase();
  return { id, valid: DEVICE_ID.test(id) };
};

export const isDeviceId = (s: string): boolean => DEVICE_ID.test(s);

export interface DeviceIdentity {
  readonly key: string;
  readonly portPath: string;
  readonly vendorId: number;
  readonly productId: number;
  readonly platform: string;
  readonly platformId: number;
  readonly mode: DeviceMode;
  /** The device ID when one is known (valid or confirmed); otherwise undefined. */
  readonly deviceId: string | undefined;
  readonly deviceIdStatus: DeviceIdStatus;
  /** The serial string as the device reported it (after normalisation). */
  readonly serialNumber: string;
  readonly serialPath: string | undefined;
  /** Problems found while identifying (bad serial, access denied, …); empty when all is well. */
  readonly problems: readonly LsError[];
}

export interface IdentifyOptions {
  /** Serial ports to match the CDC interface against (see serial-ports.ts). */
  readonly serialPorts?: readonly SerialPortEntry[];
  /**
   * Whether to open normal-mode devices and ask GET_DEVICE_MODE (and GET_DEVICE_ID when the serial
   * string is not an ID). Passive identification uses only what enumeration reported.
   */
  readonly probe?: boolean;
  /** Budget per control request while probing; short so an old Device OS costs little. */
  readonly requestTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

const invalidId = (serial: string): LsError => ({
  code: 'DEVICE_ID_INVALID',
  message: `The device reports "${serial}" as its serial number, which is not a 24-character device ID.`,
  remedy: 'Put the device in normal mode so its ID can be confirmed; if it persists, set the device aside.',
  details: { serialNumber: serial },
});

/** Identifies a recognised device. Never throws: what could not be learnt is listed in `problems`. */
export const identifyDevice = async (
  transport: UsbTransport,
  info: UsbDeviceInfo,
  platform: Platform,
  dfu: boolean,
  options: IdentifyOptions = {},
): Promise<DeviceIdentity> => {
  const serial = normalizeDeviceId(info.serialNumber);
  const problems: LsError[] = [];
  let mode: DeviceMode = dfu ? 'dfu' : 'unknown';
  let deviceId: string | undefined = serial.valid ? serial.id : undefined;
  let status: DeviceIdStatus = serial.valid ? 'serial' : 'invalid';

  if (!dfu && options.probe !== false) {
    const requestOptions = {
      timeoutMs: options.requestTimeoutMs ?? 2000,
      transferTimeoutMs: options.requestTimeoutMs ?? 2000,
      signal: options.signal,
    };
    try {
      const handle = await transport.open(info);
      try {
        const m = await getDeviceMode(handle, requestOptions);
        if (m.ok) mode = m.value;
        if (!serial.valid && m.ok) {
          const id = await getDeviceId(handle, requestOptions);
          if (id.ok) {
            const confirmed = normalizeDeviceId(id.value);
            if (confirmed.valid) {
              deviceId = confirmed.id;
              status = 'confirmed';
            }
          }
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (e) {
      // Opening failed (access denied, busy, gone): keep what enumeration told us and say why.
      problems.push(toLsError(e, 'USB_IO'));
    }
  }
  if (status === 'invalid') problems.unshift(invalidId(serial.id));

  return {
    key: info.key,
    portPath: info.portPath,
    vendorId: info.vendorId,
    productId: info.productId,
    platform: platform.name,
    platformId: platform.id,
    mode,
    deviceId,
    deviceIdStatus: status,
    serialNumber: serial.id,
    serialPath: options.serialPorts
      ? findSerialPath(options.serialPorts, {
          vendorId: info.vendorId,
          productId: info.productId,
          serialNumber: info.serialNumber ? serial.id : undefined,
        })
      : undefined,
    problems,
  };
};

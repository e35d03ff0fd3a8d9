import { createHash } from 'node:crypto';
import type { Platform } from '../platforms';
import type { RequestOutcome } from './control-service';
import { encodeIccidReply, encodeSerialNumberReply } from './protobuf';

/*
 * What a Particle device is made with besides its device ID, and how Device OS 6.2 answers for it
 * (github.com/particle-iot/device-os):
 *
 * - The sticker serial number, 15 printable characters in OTP (Gen 2, Gen 3) or eFuse + MAC
 *   (RTL872x: 4-character product code, 2-character manufacturer, year, 2-digit week, 6 hex of the
 *   MAC), HAL_DEVICE_SERIAL_NUMBER_SIZE. GET_SERIAL_NUMBER (21, control/config.cpp getSerialNumber)
 *   passes the HAL's result through: a blank or unprintable OTP gives -1 on nRF52840 and STM32F2
 *   (deviceid_hal.cpp returns a bare -1), SYSTEM_ERROR_INTERNAL (-250) on RTL872x. The request
 *   exists wherever control requests do (Device OS 0.8.0-rc.26 on).
 * - The cellular IMEI and ICCID. CELLULAR_GET_ICCID (554, control/cellular.cpp getIccid) is compiled
 *   only with HAL_PLATFORM_NCP && HAL_PLATFORM_CELLULAR: Gen 3 and RTL872x cellular devices. The
 *   Electron (Gen 2, no NCP) answers -120 like a Wi-Fi device; its ICCID comes from the
 *   listening-mode `i` listing. The request powers the modem on first (ncpClient->on(), seconds),
 *   then AT+CCID and AT+CGSN: no SIM makes AT+CCID fail with SYSTEM_ERROR_AT_NOT_OK (-1200); a
 *   modem that never becomes ready times out (SYSTEM_ERROR_TIMEOUT, -160).
 *
 * The simulated values are derived from the device ID, so a seed always gives the same device.
 * They are shaped like Particle's, not taken from real devices.
 */

/** The identity a simulated device is made with; every field defaults to one derived from its ID. */
export interface SimIdentity {
  /** Sticker serial number (15 characters); null = never programmed (GET_SERIAL_NUMBER fails). */
  readonly serialNumber?: string | null;
  /** Cellular platforms only: the modem's IMEI (15 digits). */
  readonly imei?: string;
  /** Cellular platforms only: the SIM's ICCID (19 or 20 digits). */
  readonly iccid?: string;
}

export interface ResolvedIdentity {
  readonly serialNumber: string | undefined;
  /**
   * The "mobile secret" Particle programs next to the serial number. Device OS prints it in the
   * listening-mode `i` listing ("Device Secret: …"); a station must never keep or print it.
   */
  readonly deviceSecret: string;
  readonly cellular:
    | { readonly imei: string; readonly iccid: string; readonly radioFirmware: string }
    | undefined;
}

/** Device OS result codes of the identity requests (services/inc/system_error.h, deviceid_hal.cpp). */
export const IDENTITY_ERROR = {
  /** deviceid_hal.cpp (nRF52840, STM32F2) returns -1 for a blank or unreadable OTP serial. */
  SERIAL_OTP_UNREADABLE: -1,
  /** RTL872x: SYSTEM_ERROR_INTERNAL for an unprintable eFuse serial. */
  SERIAL_EFUSE_UNREADABLE: -250,
  /** AT+CCID answered ERROR: no SIM, or the SIM is not seated. */
  AT_NOT_OK: -1200,
  /** The modem did not become ready after power-on. */
  TIMEOUT: -160,
  NOT_SUPPORTED: -120,
} as const;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The Luhn check digit IMEIs and ICCIDs end with. */
const luhn = (digits: string): string => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
};

/**
 * Stable made-up IMEI (15 digits) and ICCID (20 digits, Particle's 8988… issuer prefix), each with
 * its Luhn check digit, from a hash of the device ID (so IDs that differ only at the end differ).
 */
export const simCellularIds = (deviceId: string): { imei: string; iccid: string } => {
  const digits = [...digest(`linestation-sim-cellular:${deviceId}`)].map((b) => String(b % 10)).join('');
  const imei = `35${digits.slice(0, 12)}`;
  const iccid = `8988${digits.slice(12, 27)}`;
  return { imei: imei + luhn(imei), iccid: iccid + luhn(iccid) };
};

/**
 * A 15-character serial shaped like Particle's: a 4-character product code (here `S` and the
 * platform ID, so a simulated serial is never mistaken for a real one), manufacturer `LS`, year,
 * week and 6 upper-case hex characters from the device ID.
 */
export const makeSerialNumber = (deviceId: string, platform: Pick<Platform, 'id'>): string => {
  const h = digest(`linestation-sim-serial:${deviceId}`);
  const week = ((h[0] ?? 0) % 52) + 1;
  const year = (h[1] ?? 0) % 10;
  return `S${String(platform.id).padStart(3, '0')}LS${year}${String(week).padStart(2, '0')}${h
    .subarray(2, 5)
    .toString('hex')
    .toUpperCase()}`;
};

const makeDeviceSecret = (deviceId: string): string =>
  digest(`linestation-sim-secret:${deviceId}`)
    .toString('base64')
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(15, 'X')
    .slice(0, 15);

/** A u-blox SARA-R410-style radio firmware string (what `i` prints as "Cell Radio Version"). */
const RADIO_FIRMWARE = 'L0.0.00.00.05.12';

export const resolveIdentity = (
  deviceId: string,
  platform: Pick<Platform, 'id' | 'cellular'>,
  given: SimIdentity = {},
): ResolvedIdentity => {
  const ids = simCellularIds(deviceId);
  return {
    serialNumber:
      given.serialNumber === null ? undefined : (given.serialNumber ?? makeSerialNumber(deviceId, platform)),
    deviceSecret: makeDeviceSecret(deviceId),
    cellular: platform.cellular
      ? { imei: given.imei ?? ids.imei, iccid: given.iccid ?? ids.iccid, radioFirmware: RADIO_FIRMWARE }
      : undefined,
  };
};

/** Why the ICCID cannot be read: no SIM (AT+CCID fails at once) or a modem that never powers up. */
export type IccidFault = 'no-sim' | 'modem-off';

/** GET_SERIAL_NUMBER (21): `GetSerialNumberReply { string serial = 1 }`. */
export const serialNumberOutcome = (
  identity: ResolvedIdentity,
  platform: Pick<Platform, 'mcu'>,
  unreadable: boolean,
): RequestOutcome => {
  if (identity.serialNumber === undefined || unreadable)
    return {
      result:
        platform.mcu === 'RTL872x'
          ? IDENTITY_ERROR.SERIAL_EFUSE_UNREADABLE
          : IDENTITY_ERROR.SERIAL_OTP_UNREADABLE,
    };
  return { result: 0, reply: encodeSerialNumberReply(identity.serialNumber) };
};

/** Whether CELLULAR_GET_ICCID is compiled in: cellular platforms with an NCP (Gen 3 and later). */
export const iccidRequestSupported = (platform: Pick<Platform, 'cellular' | 'generation'>): boolean =>
  platform.cellular && platform.generation >= 3;

/**
 * CELLULAR_GET_ICCID (554): `GetIccidReply { string iccid = 1; string imei = 2 }`. `modemOnMs` is the
 * power-up the first request after a boot pays (the modem then stays on until the next reset);
 * a modem that never comes up pays it and times out.
 */
export const iccidOutcome = (
  identity: ResolvedIdentity,
  platform: Pick<Platform, 'cellular' | 'generation'>,
  fault: IccidFault | undefined,
  modem: { readonly on: boolean; readonly onMs: number },
): RequestOutcome & { readonly modemOn: boolean } => {
  if (!iccidRequestSupported(platform) || !identity.cellular)
    return { result: IDENTITY_ERROR.NOT_SUPPORTED, modemOn: modem.on };
  const powerUp = modem.on ? 0 : modem.onMs;
  if (fault === 'modem-off') return { result: IDENTITY_ERROR.TIMEOUT, deviceMs: powerUp, modemOn: false };
  if (fault === 'no-sim') return { result: IDENTITY_ERROR.AT_NOT_OK, deviceMs: powerUp, modemOn: true };
  return {
    result: 0,
    reply: encodeIccidReply(identity.cellular.iccid, identity.cellular.imei),
    deviceMs: powerUp,
    modemOn: true,
  };
};

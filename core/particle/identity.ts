import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import type { Platform } from '../platforms';
import type { UsbDeviceHandle, UsbDeviceInfo, UsbTransport } from '../usb/transport';
import { type ControlErrorCode, type ControlRequestOptions, controlRequest } from './control-client';
import { PARTICLE_BREQUEST, RequestType, ResultCode, resultCodeName } from './control-protocol';
import { enterListeningMode, stopListening } from './listening-mode';
import { type Identification, openListeningSerial, type SerialLinkOpener } from './listening-serial';
import { stringField } from './protobuf';
import { type DeviceModule, decodeReply, getDeviceMode, getModuleInfo } from './requests';

/*
 * What a station records about a device besides its ID, read over USB at identify:
 * - GET_SERIAL_NUMBER (21) → `GetSerialNumberReply { string serial = 1 }`: the sticker serial
 *   (15 characters; Device OS control/config.cpp). A device whose serial was never programmed, or
 *   whose OTP is damaged, answers a negative result (-1 on nRF52840/STM32F2, -250 on RTL872x).
 * - CELLULAR_GET_ICCID (554) → `GetIccidReply { string iccid = 1; string imei = 2 }`
 *   (control/cellular.cpp). Device OS powers the modem on first, which takes seconds, so it gets
 *   particle-usb's 60 s request timeout. Only Gen 3 and RTL872x cellular devices have it; the
 *   Electron (Gen 2) answers NOT_SUPPORTED and its ICCID comes from the listening-mode `i`
 *   listing. No SIM: -1200 (AT+CCID answered ERROR); a modem that never comes up: -160.
 * - GET_SYSTEM_VERSION (30) and MODULE_INFO (90).
 * Particle's own manufacturing recipe reads device ID and ICCID in listening mode; the serial
 * number must come from the device (the cloud's serial-number lookup is capped at 50 per hour).
 */

/** particle-usb's own request timeout (globalOptions.requestTimeout): the modem power-up needs it. */
export const ICCID_TIMEOUT_MS = 60_000;

const SERIAL = /^[\x21-\x7e]{1,16}$/;
const ICCID = /^[0-9A-Fa-f]{18,22}$/;
const IMEI = /^[0-9]{14,16}$/;

/** GET_SERIAL_NUMBER (21): the sticker serial number. */
export const getSerialNumber = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<string, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.GET_SERIAL_NUMBER, undefined, options);
  if (!r.ok) return r;
  const serial = decodeReply('GET_SERIAL_NUMBER', r.value, (f) => stringField(f, 1).trim());
  if (!serial.ok) return serial;
  if (!SERIAL.test(serial.value))
    return err(
      'PARTICLE_PROTOCOL_ERROR',
      `The device reported a serial number that is not one (${JSON.stringify(serial.value.slice(0, 20))}).`,
    );
  return serial;
};

export interface CellularIds {
  readonly iccid: string;
  readonly imei: string;
}

/**
 * CELLULAR_GET_ICCID (554): the SIM's ICCID and the modem's IMEI. Default timeout 60 s, because
 * the device powers its modem up before it can answer.
 */
export const getIccid = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<CellularIds, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.CELLULAR_GET_ICCID, undefined, {
    timeoutMs: ICCID_TIMEOUT_MS,
    ...options,
  });
  if (!r.ok) return r;
  const ids = decodeReply('CELLULAR_GET_ICCID', r.value, (f) => ({
    iccid: stringField(f, 1).trim().toUpperCase(),
    imei: stringField(f, 2).trim(),
  }));
  if (!ids.ok) return ids;
  if (!ICCID.test(ids.value.iccid) || !IMEI.test(ids.value.imei))
    return err(
      'PARTICLE_PROTOCOL_ERROR',
      `The device reported an ICCID or IMEI that is not one (ICCID ${JSON.stringify(ids.value.iccid.slice(0, 24))}, IMEI ${JSON.stringify(ids.value.imei.slice(0, 20))}).`,
    );
  return ids;
};

/**
 * GET_SYSTEM_VERSION (30) as a service request; Device OS releases without it still answer the
 * legacy vendor request (bRequest 0x50, wIndex 30) particle-usb reads at open.
 */
export const getSystemVersion = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<string, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.GET_SYSTEM_VERSION, undefined, options);
  if (r.ok) return decodeReply('GET_SYSTEM_VERSION', r.value, (f) => stringField(f, 1));
  if (r.error.code !== 'PARTICLE_REQUEST_NOT_SUPPORTED' && r.error.code !== 'PARTICLE_NO_ANSWER') return r;
  try {
    const raw = await handle.controlIn(
      { requestType: 'vendor', recipient: 'device', request: PARTICLE_BREQUEST, value: 0, index: 30 },
      64,
      { timeoutMs: options.transferTimeoutMs ?? 5000, signal: options.signal },
    );
    const nul = raw.indexOf(0);
    const text = new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw).trim();
    return text ? ok(text) : r;
  } catch {
    return r;
  }
};

export type IdentityField = 'serialNumber' | 'iccid' | 'imei' | 'systemVersion' | 'modules';

/**
 * Why a field stayed empty:
 * - `not-supported`: this Device OS / platform has no such request (and no listening fallback);
 * - `not-programmed`: the device answered, but holds no readable serial (blank or damaged OTP);
 * - `no-sim`: the modem answered that it has no SIM (AT+CCID failed);
 * - `modem-unavailable`: the modem did not come up in time;
 * - `protected`: Device Protection refused the request;
 * - `no-control-requests`: an old Device OS that ignores control requests, not in listening mode;
 * - `dfu-mode`: nothing is read in DFU mode (read again once the device is back in normal mode);
 * - `failed`: anything else (USB, timeout, an unreadable reply); `code` says what.
 */
export type MissingCause =
  | 'not-supported'
  | 'not-programmed'
  | 'no-sim'
  | 'modem-unavailable'
  | 'protected'
  | 'no-control-requests'
  | 'dfu-mode'
  | 'failed';

export interface MissingField {
  readonly field: IdentityField;
  readonly cause: MissingCause;
  /** The underlying error code (PARTICLE_REQUEST_FAILED, DEVICE_PROTECTED, LISTENING_NO_RESPONSE, …). */
  readonly code: string;
  /** A sentence for the log. */
  readonly reason: string;
  /** The Device OS result, when the device gave one. */
  readonly result?: number;
}

export type IdentitySource = 'control-request' | 'listening';

export interface DeviceIdentityInfo {
  readonly serialNumber?: string;
  readonly iccid?: string;
  readonly imei?: string;
  readonly systemVersion?: string;
  readonly modules?: readonly DeviceModule[];
  /** Where each captured field came from. */
  readonly sources: Partial<Record<IdentityField, IdentitySource>>;
  /** Fields that stayed empty, each with its reason (log it; export leaves the column empty). */
  readonly missing: readonly MissingField[];
}

export type IdentityErrorCode = 'DEVICE_SERIAL_UNREADABLE' | 'DEVICE_ICCID_UNREADABLE' | 'ABORTED';

export interface ListeningFallback {
  /** The device's CDC serial port (DeviceIdentity.serialPath). */
  readonly serialPath: string;
  /** Opens the port (tests and the simulator pass theirs; default: the serialport package). */
  readonly open?: SerialLinkOpener;
  /** How long `i` may take (the device reads its modem). Default 10 s. */
  readonly timeoutMs?: number;
}

export interface ReadIdentityOptions {
  /** The profile requires the serial number: without it the device fails with DEVICE_SERIAL_UNREADABLE. */
  readonly requireSerial?: boolean;
  /** The profile requires the ICCID (cellular platforms only; ignored elsewhere): DEVICE_ICCID_UNREADABLE. */
  readonly requireIccid?: boolean;
  /** Also read MODULE_INFO (default true). */
  readonly readModules?: boolean;
  /** Budget of each control request but 554. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Budget of CELLULAR_GET_ICCID (modem power-up). Default 60 s. */
  readonly iccidTimeoutMs?: number;
  /**
   * Where control requests cannot give the serial number or ICCID (the Electron's 554, an old Device
   * OS), ask the listening-mode `i` listing on this port. A device in normal mode is put in listening
   * mode (START_LISTENING) for it and taken out again (STOP_LISTENING).
   */
  readonly listening?: ListeningFallback;
  /** Per-request tuning (CHECK back-off, BUSY retries). */
  readonly request?: Omit<ControlRequestOptions, 'signal' | 'timeoutMs'>;
  readonly signal?: AbortSignal;
}

const causeOf = (e: LsError<string>): MissingCause => {
  const result = typeof e.details?.result === 'number' ? e.details.result : undefined;
  if (e.code === 'DEVICE_PROTECTED') return 'protected';
  if (e.code === 'PARTICLE_REQUEST_NOT_SUPPORTED') return 'not-supported';
  if (e.code === 'PARTICLE_NO_ANSWER') return 'no-control-requests';
  if (result === ResultCode.AT_NOT_OK || result === ResultCode.AT_RESPONSE_UNEXPECTED) return 'no-sim';
  if (result === ResultCode.TIMEOUT) return 'modem-unavailable';
  return 'failed';
};

const SAYS: Record<IdentityField, string> = {
  serialNumber: 'serial number',
  iccid: 'ICCID',
  imei: 'IMEI',
  systemVersion: 'Device OS version',
  modules: 'firmware modules',
};

const missingFrom = (field: IdentityField, e: LsError<string>, cause = causeOf(e)): MissingField => {
  const result = typeof e.details?.result === 'number' ? e.details.result : undefined;
  const what = SAYS[field];
  const text: Record<MissingCause, string> = {
    'not-supported': `This device's Device OS cannot report its ${what} over USB.`,
    'not-programmed': `The device holds no readable ${what} (Device OS result ${result === undefined ? '?' : resultCodeName(result)}): it was never programmed, or its OTP is damaged.`,
    'no-sim': `The modem reports no SIM card, so the ${what} cannot be read.`,
    'modem-unavailable': `The modem did not come up, so the ${what} could not be read.`,
    protected: `Device Protection refused the request for the ${what}.`,
    'no-control-requests': `The device does not answer control requests (old Device OS), so its ${what} was not read.`,
    'dfu-mode': `The device is in DFU mode; its ${what} is read in normal mode.`,
    failed: `Reading the ${what} failed: ${e.message}`,
  };
  return { field, cause, code: e.code, reason: text[cause], ...(result === undefined ? {} : { result }) };
};

const REMEDY: Record<'serialNumber' | 'iccid', Partial<Record<MissingCause, string>>> = {
  serialNumber: {
    'not-programmed':
      'Set the device aside: it has no serial number to label it by. Particle support can re-program it.',
    'not-supported':
      'Update Device OS, or give the listening-mode serial port (the serial number is in its `i` listing).',
    protected: 'Put the device in Service Mode from the Particle Cloud, or take it off the line.',
  },
  iccid: {
    'no-sim': 'Check that the SIM is seated (or the embedded SIM is fitted); set the device aside otherwise.',
    'modem-unavailable':
      'Check the antenna and power (a battery for LTE-M modules); retry, then set the device aside.',
    'not-supported': 'Give the listening-mode serial port: Gen 2 devices report their ICCID only there.',
    protected: 'Put the device in Service Mode from the Particle Cloud, or take it off the line.',
  },
};

const requiredError = (
  field: 'serialNumber' | 'iccid',
  miss: MissingField,
  device: UsbDeviceInfo,
): LsError<IdentityErrorCode> => ({
  code: field === 'serialNumber' ? 'DEVICE_SERIAL_UNREADABLE' : 'DEVICE_ICCID_UNREADABLE',
  message: `The profile requires the ${SAYS[field]}, and it could not be read: ${miss.reason}`,
  remedy: REMEDY[field][miss.cause] ?? 'Retry; if it repeats, set the device aside.',
  details: {
    portPath: device.portPath,
    cause: miss.cause,
    causeCode: miss.code,
    ...(miss.result === undefined ? {} : { result: miss.result }),
  },
});

/** Asks `i` over the serial port, entering listening mode first (and leaving it) if need be. */
const askListening = async (
  handle: UsbDeviceHandle | undefined,
  fallback: ListeningFallback,
  want: { cellular: boolean; serialNumber: boolean },
  request: ControlRequestOptions,
  signal: AbortSignal | undefined,
): Promise<Result<Identification, string>> => {
  let entered = false;
  if (handle) {
    const mode = await getDeviceMode(handle, request);
    if (!(mode.ok && mode.value === 'listening')) {
      const l = await enterListeningMode(handle, { signal, request });
      if (!l.ok) return l;
      // Unconfirmed still means we asked: stop it either way.
      entered = l.value !== 'already';
    }
  }
  try {
    const port = await openListeningSerial(fallback.serialPath, fallback.open ? { open: fallback.open } : {});
    if (!port.ok) return port;
    try {
      return await port.value.identify({ ...want, timeoutMs: fallback.timeoutMs ?? 10_000, signal });
    } finally {
      await port.value.close();
    }
  } finally {
    // Put back as found: a device left blinking blue does not run its application.
    if (entered && handle) await stopListening(handle, request).catch(() => undefined);
  }
};

/**
 * Reads serial number, ICCID/IMEI (cellular platforms), Device OS version and modules from a device
 * in normal or listening mode. Nothing is required unless the options say so: a field that cannot
 * be read is left out and listed in `missing` with its reason. A required serial number or ICCID
 * that cannot be read fails with DEVICE_SERIAL_UNREADABLE / DEVICE_ICCID_UNREADABLE.
 */
export const readIdentity = async (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  platform: Platform,
  options: ReadIdentityOptions = {},
): Promise<Result<DeviceIdentityInfo, IdentityErrorCode>> => {
  const { signal } = options;
  const request: ControlRequestOptions = {
    ...options.request,
    timeoutMs: options.requestTimeoutMs ?? 10_000,
    signal,
  };
  const found: {
    serialNumber?: string;
    iccid?: string;
    imei?: string;
    systemVersion?: string;
    modules?: readonly DeviceModule[];
  } = {};
  const sources: Partial<Record<IdentityField, IdentitySource>> = {};
  const missing = new Map<IdentityField, MissingField>();
  const wanted: IdentityField[] = [
    'systemVersion',
    ...(options.readModules === false ? [] : (['modules'] as const)),
    'serialNumber',
    ...(platform.cellular ? (['iccid', 'imei'] as const) : []),
  ];
  const aborted = (): Result<never, 'ABORTED'> => err('ABORTED', 'The operation was cancelled.');

  if (device.productId === platform.usb.dfuProductId && device.vendorId === platform.usb.dfuVendorId) {
    const dfu: LsError<string> = { code: 'DEVICE_IN_DFU_MODE', message: 'The device is in DFU mode.' };
    for (const f of wanted) missing.set(f, missingFrom(f, dfu, 'dfu-mode'));
  } else {
    let handle: UsbDeviceHandle | undefined;
    try {
      handle = await transport.open(device, { signal });
    } catch (e) {
      const failure = toLsError(e, 'USB_IO');
      for (const f of wanted) missing.set(f, missingFrom(f, failure, 'failed'));
    }
    if (handle) {
      try {
        const version = await getSystemVersion(handle, request);
        if (version.ok) {
          found.systemVersion = version.value;
          sources.systemVersion = 'control-request';
        } else missing.set('systemVersion', missingFrom('systemVersion', version.error));
        if (signal?.aborted) return aborted();

        if (options.readModules !== false) {
          const modules = await getModuleInfo(handle, request);
          if (modules.ok) {
            found.modules = modules.value;
            sources.modules = 'control-request';
          } else missing.set('modules', missingFrom('modules', modules.error));
        }
        if (signal?.aborted) return aborted();

        const serial = await getSerialNumber(handle, request);
        if (serial.ok) {
          found.serialNumber = serial.value;
          sources.serialNumber = 'control-request';
        } else {
          // Any negative result but "not supported" means the HAL found nothing printable.
          const result = serial.error.details?.result;
          const cause =
            serial.error.code === 'PARTICLE_REQUEST_FAILED' && typeof result === 'number'
              ? 'not-programmed'
              : causeOf(serial.error);
          missing.set('serialNumber', missingFrom('serialNumber', serial.error, cause));
        }
        if (signal?.aborted) return aborted();

        if (platform.cellular) {
          const ids = await getIccid(handle, {
            ...request,
            timeoutMs: options.iccidTimeoutMs ?? ICCID_TIMEOUT_MS,
          });
          if (ids.ok) {
            found.iccid = ids.value.iccid;
            found.imei = ids.value.imei;
            sources.iccid = 'control-request';
            sources.imei = 'control-request';
          } else {
            const cause =
              ids.error.code === 'PARTICLE_REQUEST_TIMEOUT' ? 'modem-unavailable' : causeOf(ids.error);
            missing.set('iccid', missingFrom('iccid', ids.error, cause));
            missing.set('imei', missingFrom('imei', ids.error, cause));
          }
        }
        if (signal?.aborted) return aborted();

        // The listening-mode listing holds what the requests could not give (Gen 2's ICCID, a
        // Device OS without the requests). A SIM or modem problem would read blank there too.
        const fallbackHelps = (f: IdentityField) => {
          const m = missing.get(f);
          return m !== undefined && (m.cause === 'not-supported' || m.cause === 'no-control-requests');
        };
        const needSerial = fallbackHelps('serialNumber');
        const needCell = platform.cellular && fallbackHelps('iccid');
        if (options.listening && (needSerial || needCell)) {
          const noControl = [...missing.values()].some((m) => m.cause === 'no-control-requests');
          const heard = await askListening(
            noControl ? undefined : handle,
            options.listening,
            { cellular: needCell, serialNumber: needSerial },
            request,
            signal,
          );
          if (signal?.aborted) return aborted();
          if (heard.ok) {
            const take = (f: 'serialNumber' | 'iccid' | 'imei', value: string | undefined, why: string) => {
              if (!fallbackHelps(f)) return;
              if (value) {
                found[f] = value;
                sources[f] = 'listening';
                missing.delete(f);
              } else
                missing.set(f, {
                  field: f,
                  cause: f === 'serialNumber' ? 'not-programmed' : 'modem-unavailable',
                  code: 'LISTENING_FIELD_BLANK',
                  reason: why,
                });
            };
            if (needSerial)
              take(
                'serialNumber',
                heard.value.serialNumber,
                'The listening-mode listing has no serial number: it was never programmed, or its OTP is damaged.',
              );
            if (needCell) {
              const blank =
                'The listening-mode listing shows no ICCID/IMEI: no SIM, or the modem could not be read.';
              take('iccid', heard.value.iccid?.toUpperCase(), blank);
              take('imei', heard.value.imei, blank);
            }
          } else {
            for (const f of ['serialNumber', 'iccid', 'imei'] as const)
              if (fallbackHelps(f) && (f === 'serialNumber' ? needSerial : needCell))
                missing.set(f, { ...missingFrom(f, heard.error, 'failed') });
          }
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
  }

  if (signal?.aborted) return aborted();
  const serialMiss = missing.get('serialNumber');
  if (options.requireSerial && serialMiss)
    return { ok: false, error: requiredError('serialNumber', serialMiss, device) };
  const iccidMiss = missing.get('iccid');
  if (options.requireIccid && platform.cellular && iccidMiss)
    return { ok: false, error: requiredError('iccid', iccidMiss, device) };
  return ok({ ...found, sources, missing: [...missing.values()] });
};

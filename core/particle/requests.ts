import { err, ok, type Result } from '../errors/result';
import { MODULE_FUNCTIONS, type ModuleFunctionName } from '../firmware/types';
import type { UsbDeviceHandle } from '../usb/transport';
import { type ControlErrorCode, type ControlRequestOptions, controlRequest } from './control-client';
import { RequestType } from './control-protocol';
import {
  bytesField,
  ProtobufError,
  readFields,
  repeatedMessages,
  stringField,
  uintField,
  type WireField,
} from './protobuf';

/*
 * The few Particle control requests the station uses, each decoding its Device OS protobuf reply.
 * DFU_MODE and RESET make the device drop off the bus right after it acknowledges, so a transfer
 * that fails with USB_DISCONNECTED after the request went out counts as accepted: whether the
 * device really switched is decided by watching it come back (mode-switch.ts), not by this reply.
 */

export type ParticleRequestErrorCode = ControlErrorCode;

/** Decodes a reply with `fn`, naming an unreadable one PARTICLE_PROTOCOL_ERROR instead of throwing. */
export const decodeReply = <T>(
  name: string,
  bytes: Uint8Array,
  fn: (fields: WireField[]) => T,
): Result<T, ControlErrorCode> => {
  try {
    return ok(fn(readFields(bytes)));
  } catch (e) {
    if (e instanceof ProtobufError)
      return err('PARTICLE_PROTOCOL_ERROR', `The device sent an unreadable ${name} reply (${e.message}).`);
    throw e;
  }
};

const resetLike = async (
  handle: UsbDeviceHandle,
  type: number,
  options: ControlRequestOptions,
): Promise<Result<void, ControlErrorCode>> => {
  const r = await controlRequest(handle, type, undefined, options);
  if (r.ok || r.error.code === 'USB_DISCONNECTED' || r.error.code === 'USB_NOT_FOUND') return ok(undefined);
  return r;
};

/** Asks a normal/listening-mode device to reboot into DFU mode (DFU_MODE, 50). */
export const requestDfuMode = (handle: UsbDeviceHandle, options: ControlRequestOptions = {}) =>
  resetLike(handle, RequestType.DFU_MODE, options);

/** Asks the device to reset (RESET, 40). */
export const requestReset = (handle: UsbDeviceHandle, options: ControlRequestOptions = {}) =>
  resetLike(handle, RequestType.RESET, options);

export type ReportedMode = 'normal' | 'listening';

/** GET_DEVICE_MODE (72): GetDeviceModeReply { DeviceMode mode = 1; } NORMAL 0, LISTENING 1. */
export const getDeviceMode = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<ReportedMode, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.GET_DEVICE_MODE, undefined, options);
  if (!r.ok) return r;
  const mode = decodeReply('GET_DEVICE_MODE', r.value, (f) => uintField(f, 1));
  if (!mode.ok) return mode;
  if (mode.value === 0) return ok('normal');
  if (mode.value === 1) return ok('listening');
  return err('PARTICLE_PROTOCOL_ERROR', `The device reported an unknown mode (${mode.value}).`);
};

/** GET_DEVICE_ID (20): GetDeviceIdReply { string id = 1; } (24 hex characters). */
export const getDeviceId = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<string, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.GET_DEVICE_ID, undefined, options);
  if (!r.ok) return r;
  return decodeReply('GET_DEVICE_ID', r.value, (f) => stringField(f, 1));
};

/**
 * Module function codes as the module prefix stores them (DOMAIN.md; cloud/describe.proto): the
 * same names and numbering the firmware parser uses, so a module read back from the device
 * compares with the file that was written.
 */
export type ModuleFunction = ModuleFunctionName;
const FUNCTIONS = MODULE_FUNCTIONS;

/** Pre-5.6 replies use control/storage.proto's own enum: 1 bootloader, 2 system, 3 user, 4 mono, 5 ncp, 6 radio. */
const LEGACY_FUNCTIONS: readonly ModuleFunction[] = [
  'none',
  'bootloader',
  'system',
  'user',
  'mono',
  'ncp',
  'radio',
];

const STORES = ['main', 'factory', 'backup', 'scratchpad'] as const;

export interface ModuleDependency {
  readonly function: ModuleFunction;
  readonly index: number;
  readonly version: number;
}

export interface DeviceModule {
  readonly function: ModuleFunction;
  readonly index: number;
  readonly version: number;
  readonly size: number;
  /** Whether every validity check the device ran passed. */
  readonly valid: boolean;
  readonly store?: (typeof STORES)[number];
  readonly maxSize?: number;
  /**
   * Validity checks that were performed but did not pass (checked ^ passed), Device OS ≥ 5.6 only:
   * INTEGRITY 0x02, DEPENDENCIES 0x04, RANGE 0x08, PLATFORM 0x10 (FirmwareModuleValidityFlag).
   */
  readonly failedFlags?: number;
  /**
   * The SHA-256 Device OS reports for the module (`FirmwareModule.hash = 8`, Device OS ≥ 5.6), 64
   * lower-case hex characters: the hash stored in the module's suffix. Absent when not sent.
   */
  readonly hash?: string;
  readonly dependencies: readonly ModuleDependency[];
}

const fnOf = (table: readonly ModuleFunction[], code: number): ModuleFunction => table[code] ?? 'none';

const legacyModule = (f: WireField[]): DeviceModule => ({
  function: fnOf(LEGACY_FUNCTIONS, uintField(f, 1)),
  index: uintField(f, 2),
  version: uintField(f, 3),
  size: uintField(f, 4),
  // Legacy validity holds failure flags: INTEGRITY_CHECK_FAILED 1, DEPENDENCY_CHECK_FAILED 2.
  valid: uintField(f, 5) === 0,
  dependencies: repeatedMessages(f, 6).map((d) => {
    const df = readFields(d);
    return {
      function: fnOf(LEGACY_FUNCTIONS, uintField(df, 1)),
      index: uintField(df, 2),
      version: uintField(df, 3),
    };
  }),
});

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const currentModule = (f: WireField[]): DeviceModule => {
  // A check failed when it was performed (6) but did not pass (7): particle-usb's checked ^ passed.
  const failedFlags = (uintField(f, 6) ^ uintField(f, 7)) >>> 0;
  const hash = bytesField(f, 8);
  return {
    function: fnOf(FUNCTIONS, uintField(f, 1)),
    index: uintField(f, 2),
    version: uintField(f, 3),
    store: STORES[uintField(f, 4)] ?? 'main',
    maxSize: uintField(f, 5),
    valid: failedFlags === 0,
    failedFlags,
    ...(hash && hash.length > 0 ? { hash: hex(hash) } : {}),
    size: uintField(f, 11),
    dependencies: repeatedMessages(f, 9).map((d) => {
      const df = readFields(d);
      return {
        function: fnOf(FUNCTIONS, uintField(df, 1)),
        index: uintField(df, 2),
        version: uintField(df, 3),
      };
    }),
  };
};

/** Decodes GetModuleInfoReply: `modules_deprecated = 1` (before Device OS 5.6) or `modules = 2`. */
export const decodeModuleInfo = (bytes: Uint8Array): Result<DeviceModule[], ControlErrorCode> =>
  decodeReply('MODULE_INFO', bytes, (f) => {
    const legacy = repeatedMessages(f, 1);
    if (legacy.length > 0) return legacy.map((m) => legacyModule(readFields(m)));
    return repeatedMessages(f, 2).map((m) => currentModule(readFields(m)));
  });

/** MODULE_INFO (90): the firmware modules in the device's flash, with versions and validity. */
export const getModuleInfo = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<DeviceModule[], ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.MODULE_INFO, undefined, options);
  if (!r.ok) return r;
  return decodeModuleInfo(r.value);
};

/** An asset as Device OS lists it (GET_ASSET_INFO): its name and the SHA-256 of its contents. */
export interface DeviceAsset {
  readonly name: string;
  /** 64 lower-case hex characters; empty when the device sent none. */
  readonly hash: string;
  readonly size: number;
  readonly storageSize: number;
}

export interface DeviceAssets {
  /** The assets the application on the device depends on. */
  readonly required: DeviceAsset[];
  /** The assets the device stores. */
  readonly available: DeviceAsset[];
}

const assetInfo = (f: WireField[]): DeviceAsset => ({
  name: stringField(f, 2),
  hash: hex(bytesField(f, 1) ?? new Uint8Array(0)),
  size: uintField(f, 3),
  storageSize: uintField(f, 4),
});

/**
 * Decodes GetAssetInfoReply { repeated FirmwareModuleAsset available = 1; repeated
 * FirmwareModuleAsset required = 2 } (control/storage.proto), FirmwareModuleAsset { bytes hash = 1;
 * string name = 2; uint32 size = 3; uint32 storage_size = 4 } (cloud/describe.proto).
 */
export const decodeAssetInfo = (bytes: Uint8Array): Result<DeviceAssets, ControlErrorCode> =>
  decodeReply('GET_ASSET_INFO', bytes, (f) => ({
    required: repeatedMessages(f, 2).map((m) => assetInfo(readFields(m))),
    available: repeatedMessages(f, 1).map((m) => assetInfo(readFields(m))),
  }));

/** GET_ASSET_INFO (91, Device OS 5.5+): the assets the device stores and the ones its application needs. */
export const getAssetInfo = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<DeviceAssets, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.GET_ASSET_INFO, undefined, options);
  if (!r.ok) return r;
  return decodeAssetInfo(r.value);
};

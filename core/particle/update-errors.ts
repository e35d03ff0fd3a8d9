import type { LsError } from '../errors/result';
import { type ControlErrorCode, deviceProtected, resultError } from './control-client';
import { RequestType, ResultCode, resultCodeName } from './control-protocol';
import type { WaitErrorCode } from './wait-device';

/*
 * What a normal-mode firmware update can fail with, in words an operator can act on. Device OS
 * answers START/DATA/FINISH with system_error_t results (services/inc/system_error.h); FINISH runs
 * the same module validation as a cloud OTA, so its -13xx codes say exactly what is wrong with the
 * module. The same number means different things at different steps (-210 at START is "another
 * update is running", at FINISH "bytes are missing"), so the mapping takes the step.
 */

export type UpdateErrorCode =
  | 'DEVICE_UPDATE_REJECTED_INTEGRITY'
  | 'DEVICE_UPDATE_REJECTED_DEPENDENCY'
  | 'DEVICE_UPDATE_REJECTED_ADDRESS'
  | 'DEVICE_UPDATE_REJECTED_SIZE'
  | 'DEVICE_UPDATE_REJECTED_PLATFORM'
  | 'DEVICE_UPDATE_REJECTED_FORMAT'
  | 'DEVICE_UPDATE_REJECTED_UNSUPPORTED'
  | 'DEVICE_UPDATE_REJECTED'
  | 'DEVICE_UPDATES_DISABLED'
  | 'DEVICE_BUSY_UPDATING'
  | 'DEVICE_PROTECTED'
  | 'DEVICE_UPDATE_COMPRESSED_REFUSED'
  | 'DEVICE_UPDATE_NOT_SUPPORTED'
  | 'DEVICE_UPDATE_START_FAILED'
  | 'DEVICE_UPDATE_DATA_REJECTED'
  | 'DEVICE_UPDATE_INCOMPLETE'
  | 'DEVICE_UPDATE_FINISH_FAILED'
  | 'DEVICE_UPDATE_NOT_APPLIED'
  | 'DEVICE_UPDATE_MODULE_INVALID'
  | 'DEVICE_UPDATE_HASH_MISMATCH'
  | 'DEVICE_UPDATE_UNVERIFIED'
  | 'DEVICE_UPDATE_TIMEOUT'
  | 'DEVICE_UPDATE_EMPTY_IMAGE'
  | 'DEVICE_UPDATE_ASSET_UNSUPPORTED'
  | ControlErrorCode
  | WaitErrorCode;

/** The firmware-update request a result answered. */
export type UpdateStep = 'start' | 'data' | 'finish' | 'cancel';

export type UpdateFormat = 'bin' | 'miniz';

export interface UpdateErrorContext {
  /** Image size (START) or the running offset (DATA). */
  readonly size?: number;
  readonly offset?: number;
  readonly format?: UpdateFormat;
}

const STEP_REQUEST: Record<UpdateStep, number> = {
  start: RequestType.START_FIRMWARE_UPDATE,
  data: RequestType.FIRMWARE_UPDATE_DATA,
  finish: RequestType.FINISH_FIRMWARE_UPDATE,
  cancel: RequestType.CANCEL_FIRMWARE_UPDATE,
};

const INSPECT = 'Check the file with `linestation inspect FILE`';

/** Validation refusals: the module itself is wrong for this device; sending it again cannot help. */
const REFUSALS: Record<number, { code: UpdateErrorCode; message: string; remedy: string }> = {
  [ResultCode.OTA_INTEGRITY_CHECK_FAILED]: {
    code: 'DEVICE_UPDATE_REJECTED_INTEGRITY',
    message: 'The device found the firmware module damaged (its CRC check failed) and refused it.',
    remedy: `${INSPECT}; if it reports the file intact, re-seat the cable and retry.`,
  },
  [ResultCode.OTA_RESUMED_UPDATE_FAILED]: {
    code: 'DEVICE_UPDATE_REJECTED_INTEGRITY',
    message:
      'The device found the firmware module damaged (a resumed transfer did not check out) and refused it.',
    remedy: `${INSPECT}; if it reports the file intact, re-seat the cable and retry.`,
  },
  [ResultCode.OTA_DEPENDENCY_CHECK_FAILED]: {
    code: 'DEVICE_UPDATE_REJECTED_DEPENDENCY',
    message:
      'The device refused the module: it needs other firmware than the device has (for example a newer Device OS or bootloader).',
    remedy:
      'Install what it depends on first (bootloader, then system parts in order), or use a module built for the Device OS on this device.',
  },
  [ResultCode.OTA_INVALID_ADDRESS]: {
    code: 'DEVICE_UPDATE_REJECTED_ADDRESS',
    message: 'The device refused the module: its flash address does not fit this device.',
    remedy: `${INSPECT}; use a module built for this platform and Device OS.`,
  },
  [ResultCode.OTA_INVALID_SIZE]: {
    code: 'DEVICE_UPDATE_REJECTED_SIZE',
    message: 'The device refused the module: its size is wrong for this device.',
    remedy: `${INSPECT}; use a module built for this platform.`,
  },
  [ResultCode.OTA_INVALID_PLATFORM]: {
    code: 'DEVICE_UPDATE_REJECTED_PLATFORM',
    message: 'The device refused the module: it was built for another platform.',
    remedy: "Use the file built for this device's platform (check the product profile).",
  },
  [ResultCode.OTA_INVALID_FORMAT]: {
    code: 'DEVICE_UPDATE_REJECTED_FORMAT',
    message: 'The device refused the module: it is not in a format the device can install.',
    remedy: `${INSPECT}; use a module produced by Particle's build tools.`,
  },
  [ResultCode.OTA_UNSUPPORTED_MODULE]: {
    code: 'DEVICE_UPDATE_REJECTED_UNSUPPORTED',
    message: 'The device cannot install this kind of module over USB in normal mode.',
    remedy: 'Install it over DFU instead, or update Device OS first.',
  },
  [ResultCode.OTA_MODULE_NOT_FOUND]: {
    code: 'DEVICE_UPDATE_REJECTED',
    message: 'The device refused the module: it found no module in the data it received.',
    remedy: `${INSPECT}; it must be a Particle module binary.`,
  },
  [ResultCode.OTA_VALIDATION_FAILED]: {
    code: 'DEVICE_UPDATE_REJECTED',
    message: 'The device refused the module: it did not pass validation.',
    remedy: `${INSPECT} and check that it suits the Device OS on this device.`,
  },
  [ResultCode.OTA]: {
    code: 'DEVICE_UPDATE_REJECTED',
    message: 'The device refused the module (firmware update error).',
    remedy: `${INSPECT} and check that it suits the Device OS on this device.`,
  },
  [ResultCode.OTA_UPDATES_DISABLED]: {
    code: 'DEVICE_UPDATES_DISABLED',
    message: "The device's application has disabled firmware updates, so the device refused this one.",
    remedy:
      'Put the device in safe mode (hold MODE, tap RESET, release MODE when it blinks magenta) and retry: safe mode does not run the application.',
  },
};

const withDetails = <C extends string>(
  e: { code: C; message: string; remedy?: string },
  details: Record<string, unknown>,
): LsError<C> => ({ ...e, details });

/** Names a non-zero Device OS result of one firmware-update request. */
export const updateResultError = (
  step: UpdateStep,
  result: number,
  context: UpdateErrorContext = {},
): LsError<UpdateErrorCode> => {
  const details = {
    step,
    result,
    resultName: resultCodeName(result),
    ...(context.size !== undefined ? { size: context.size } : {}),
    ...(context.offset !== undefined ? { offset: context.offset } : {}),
  };
  if (result === ResultCode.PROTECTED) return deviceProtected('firmware update', details);
  const refusal = REFUSALS[result];
  if (refusal) {
    if (refusal.code === 'DEVICE_UPDATE_REJECTED_SIZE' && step === 'start')
      return withDetails(
        {
          code: 'DEVICE_UPDATE_REJECTED_SIZE',
          message: `The device refused a ${context.size ?? '?'}-byte update: it is empty or larger than the device's update area.`,
          remedy: `${INSPECT}; use a module built for this platform.`,
        },
        details,
      );
    return withDetails(refusal, details);
  }
  if (result === ResultCode.BUSY) return { ...resultError(STEP_REQUEST[step], result), details };
  if (step === 'start') {
    if (result === ResultCode.INVALID_STATE)
      return withDetails(
        {
          code: 'DEVICE_BUSY_UPDATING',
          message:
            'The device is already installing another update (probably from the cloud) and cannot start this one.',
          remedy: 'Wait until it finishes (the LED stops blinking magenta), then retry.',
        },
        details,
      );
    if (result === ResultCode.NOT_SUPPORTED)
      return context.format === 'miniz'
        ? withDetails(
            {
              code: 'DEVICE_UPDATE_COMPRESSED_REFUSED',
              message: 'The device does not accept compressed (miniz) firmware over USB.',
              remedy: 'Send the module uncompressed (the default).',
            },
            details,
          )
        : withDetails(
            {
              code: 'DEVICE_UPDATE_NOT_SUPPORTED',
              message: "The device's Device OS does not accept firmware updates over USB in normal mode.",
              remedy: 'Update Device OS over DFU first, or install this module over DFU.',
            },
            details,
          );
    return withDetails(
      {
        code: 'DEVICE_UPDATE_START_FAILED',
        message: `The device could not prepare its update area (${resultCodeName(result)}).`,
        remedy: 'Retry; if it keeps failing, reset the device.',
      },
      details,
    );
  }
  if (step === 'data')
    return withDetails(
      {
        code: 'DEVICE_UPDATE_DATA_REJECTED',
        message: `The device refused firmware data at byte ${context.offset ?? '?'} (${resultCodeName(result)}) and cancelled the transfer.`,
        remedy: 'Retry: the update starts over. If it keeps failing, reset the device.',
      },
      details,
    );
  if (step === 'finish') {
    if (result === ResultCode.INVALID_STATE)
      return withDetails(
        {
          code: 'DEVICE_UPDATE_INCOMPLETE',
          message:
            'The device did not receive the whole module (the transfer was cancelled or the device reset).',
          remedy: 'Retry: the update starts over.',
        },
        details,
      );
    return withDetails(
      {
        code: 'DEVICE_UPDATE_FINISH_FAILED',
        message: `The device could not complete the update (${resultCodeName(result)}).`,
        remedy: 'Retry; if it keeps failing, reset the device.',
      },
      details,
    );
  }
  return { ...resultError(STEP_REQUEST[step], result), details };
};

/**
 * Failures after which sending the module again from START can succeed: USB glitches, a busy or
 * reset device, a transfer the device cancelled. Never a validation or protection refusal, never a
 * missing feature: those answer the same way every time, and retrying only hides them.
 */
const TRANSIENT = new Set<string>([
  'USB_TIMEOUT',
  'USB_IO',
  'USB_STALL',
  'USB_DISCONNECTED',
  'USB_NOT_FOUND',
  'PARTICLE_REQUEST_BUSY',
  'PARTICLE_REQUEST_TIMEOUT',
  'PARTICLE_REQUEST_CANCELLED',
  'PARTICLE_NO_MEMORY',
  'PARTICLE_PROTOCOL_ERROR',
  'DEVICE_BUSY_UPDATING',
  'DEVICE_UPDATE_START_FAILED',
  'DEVICE_UPDATE_DATA_REJECTED',
  'DEVICE_UPDATE_INCOMPLETE',
  'DEVICE_UPDATE_FINISH_FAILED',
]);

export const isTransientUpdateError = (error: LsError): boolean => TRANSIENT.has(error.code);

import { LsFailure } from '../errors/result';
import { type DfuStatusName, STATUS_MEANING, stateName, statusName } from './constants';

/**
 * Codes the DFU engine raises on top of the transport's USB_* codes. Every failure names what the
 * device said (status and state names from the spec) and where (address), so an engineer can act.
 */
export type DfuErrorCode =
  | 'DFU_NO_INTERFACE'
  | 'DFU_NO_ALT'
  | 'DFU_LAYOUT_INVALID'
  | 'DFU_READ_ONLY'
  | 'DFU_OUT_OF_RANGE'
  | 'DFU_NOT_SUPPORTED'
  | 'DFU_DEVICE_ERROR'
  | 'DFU_BAD_STATE'
  | 'DFU_DEVICE_STUCK'
  | 'DFU_BAD_STATUS'
  | 'DFU_VERIFY_MISMATCH'
  | 'DFU_SHORT_READ'
  | 'DFU_TIMEOUT'
  | 'DFU_ABORTED';

export const dfuFailure = (
  code: DfuErrorCode,
  message: string,
  extra: { remedy?: string; details?: Record<string, unknown> } = {},
): LsFailure<DfuErrorCode> => new LsFailure({ code, message, ...extra });

export const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** dfuERROR reported by the device: the status name is the whole diagnosis. */
export const deviceError = (
  status: number,
  state: number,
  operation: string,
  address: number | undefined,
): LsFailure<DfuErrorCode> => {
  const name = statusName(status);
  const meaning = STATUS_MEANING[name as DfuStatusName] ?? 'an unlisted status';
  const where = address === undefined ? '' : ` at ${hex(address)}`;
  return dfuFailure(
    'DFU_DEVICE_ERROR',
    `The device reported ${name} (${meaning}) during ${operation}${where}.`,
    {
      remedy:
        name === 'errADDRESS'
          ? 'The firmware file does not fit this device; check the platform and module addresses.'
          : 'Retry; if it happens again on the same device, set the device aside.',
      details: {
        status: name,
        state: stateName(state),
        operation,
        ...(address === undefined ? {} : { address: hex(address) }),
      },
    },
  );
};

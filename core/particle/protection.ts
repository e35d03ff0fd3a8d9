import type { MemoryLayout } from '../dfu/memory-layout';
import type { DfuAlt } from '../dfu/session';
import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { readStringDescriptor } from '../usb/descriptors';
import type { TransferOptions, UsbDeviceHandle } from '../usb/transport';
import {
  type ControlErrorCode,
  type ControlRequestOptions,
  rawControlRequest,
  resultError,
} from './control-client';
import { RequestType, ResultCode } from './control-protocol';
import { uintField } from './protobuf';
import { decodeReply } from './requests';

/*
 * Device Protection (Device OS 6+): a protected device refuses firmware over USB, in normal mode
 * (-1801 to every control request but a few) and in DFU mode (writes fail). A station asks first so
 * it can say "protected" instead of failing halfway through a set.
 *
 * Normal mode: GetProtectedStateRequest (76) → `{ bool state = 1; bool overridden = 2 }`; Device OS
 * before 6 answers NOT_SUPPORTED, which means "not protected" (particle-cli treats it so).
 * DFU mode (particle-usb src/dfu.js getProtectionState): string descriptor 0xFA holds
 * `sm=o` (open), `sm=p` (protected) or `sm=s` (Service Mode). Bootloaders before Device OS 6.1.2
 * lack it; there a protected device shows every alt-0 segment erasable but neither readable nor
 * writable, and Open cannot be told from Service Mode.
 */

export type ProtectionMode = 'open' | 'protected' | 'service';

export interface ProtectionState {
  readonly protected: boolean;
  /** Service Mode (protection lifted for a while); undefined where the device cannot say. */
  readonly overridden: boolean | undefined;
  /** undefined when only "not protected" is known (the pre-6.1.2 layout fallback). */
  readonly mode: ProtectionMode | undefined;
  readonly source: 'control-request' | 'not-supported' | 'dfu-descriptor' | 'dfu-layout';
}

const fromMode = (mode: ProtectionMode, source: ProtectionState['source']): ProtectionState => ({
  protected: mode === 'protected',
  overridden: mode === 'service',
  mode,
  source,
});

/** GET_PROTECTED_STATE (76), normal or listening mode. */
export const getProtectedState = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<ProtectionState, ControlErrorCode>> => {
  const r = await rawControlRequest(handle, RequestType.GET_PROTECTED_STATE, undefined, options);
  if (!r.ok) return r;
  if (r.value.result === ResultCode.NOT_SUPPORTED) return ok(fromMode('open', 'not-supported'));
  if (r.value.result !== ResultCode.OK)
    return { ok: false, error: resultError(RequestType.GET_PROTECTED_STATE, r.value.result) };
  const reply = decodeReply('GET_PROTECTED_STATE', r.value.data, (f) => ({
    state: uintField(f, 1) !== 0,
    overridden: uintField(f, 2) !== 0,
  }));
  if (!reply.ok) return reply;
  return ok(
    fromMode(
      reply.value.state ? 'protected' : reply.value.overridden ? 'service' : 'open',
      'control-request',
    ),
  );
};

/** The DFU-mode string descriptor that carries the security mode (Device OS ≥ 6.1.2). */
export const SECURITY_MODE_STRING_INDEX = 0xfa;

/** Reads `sm=o|p|s` out of the 0xFA string (`;`-separated key=value pairs); undefined if absent. */
export const parseSecurityModeString = (text: string): ProtectionMode | undefined => {
  for (const pair of text.split(';')) {
    const [key, value] = pair.split('=', 2).map((s) => s.trim());
    if (key !== 'sm' || !value) continue;
    const c = value.charAt(0);
    if (c === 'o') return 'open';
    if (c === 'p') return 'protected';
    if (c === 's') return 'service';
    return undefined;
  }
  return undefined;
};

/** The pre-6.1.2 sign: every segment erasable, none readable or writable. */
export const protectedByLayout = (layout: MemoryLayout): boolean =>
  layout.segments.length > 0 && layout.segments.every((s) => s.erasable && !s.readable && !s.writable);

/** Failures of the 0xFA read that mean "this bootloader has no such string", not "the device is gone". */
const NO_STRING = new Set(['USB_STALL', 'USB_DESCRIPTOR_INVALID']);

/**
 * The protection state of a device in DFU mode. `dfu` is an opened DFU session (or anything with
 * its handle and alt settings), whose alt 0 layout serves the fallback.
 */
export const readDfuProtection = async (
  dfu: { readonly handle: UsbDeviceHandle; readonly alts: readonly DfuAlt[] },
  options: TransferOptions,
): Promise<Result<ProtectionState, 'DFU_PROTECTION_UNKNOWN' | string>> => {
  let cause: LsError | undefined;
  try {
    const text = await readStringDescriptor(dfu.handle, SECURITY_MODE_STRING_INDEX, options);
    const mode = text === undefined ? undefined : parseSecurityModeString(text);
    if (mode) return ok(fromMode(mode, 'dfu-descriptor'));
  } catch (e) {
    cause = toLsError(e, 'USB_IO');
    if (!NO_STRING.has(cause.code)) return { ok: false, error: cause };
  }
  const layout = dfu.alts.find((a) => a.alt === 0)?.layout;
  if (!layout)
    return err(
      'DFU_PROTECTION_UNKNOWN',
      'The device in DFU mode reports neither its security mode nor an internal-flash layout.',
      {
        remedy: 'Reset the device into normal mode and ask it there, or update its bootloader.',
        details: { cause: cause?.code },
      },
    );
  const isProtected = protectedByLayout(layout);
  return ok({
    protected: isProtected,
    overridden: undefined,
    mode: isProtected ? 'protected' : undefined,
    source: 'dfu-layout',
  });
};

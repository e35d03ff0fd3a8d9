import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { normalizeDeviceId, recognise } from '../usb/identity';
import type { UsbDeviceHandle, UsbDeviceInfo, UsbTransport } from '../usb/transport';
import type { ControlErrorCode, ControlRequestOptions } from './control-client';
import { Deadline } from './deadline';
import { getProtectedState, type ProtectionState } from './protection';
import { getDeviceId } from './requests';
import {
  clearServiceMode,
  confirmServiceMode,
  type DevicePrepared,
  prepareServiceMode,
  type SetProtectedStateErrorCode,
} from './set-protected-state';

/*
 * Service Mode: Device Protection lifted for a while, so a protected device can be reprogrammed over
 * USB. Particle's sequence (particle-cli src/lib/device-protection-helper.js disableDeviceProtection):
 *
 *   1. cloud `prepare`                      → server nonce
 *   2. device PREPARE (77) with that nonce  → device nonce, signature, key fingerprint
 *   3. cloud `confirm` with all of those    → server signature, server key fingerprint
 *   4. device CONFIRM (77) with the cloud's → Service Mode
 *
 * then GET_PROTECTED_STATE (76) must say overridden. Service Mode is temporary (Device OS: 20 resets
 * or 24 h of running, whichever comes first) and can only be granted by the Particle Cloud, which
 * holds every device's public key; leaving it (RESET) needs no cloud.
 *
 * The cloud is injected: core/particle and core/cloud are siblings and neither imports the other.
 * `ServiceModeCloud` is the slice of core/cloud's CloudClient this needs, so a CloudClient fits as is.
 *
 * A failed exchange sends no RESET: the device may already have been in Service Mode (a renewal),
 * and a RESET would end it. A PREPARE left behind expires on the device by itself after 60 s.
 */

/** Device OS's limits for Service Mode (services/src/security_mode.cpp), for messages and docs. */
export const SERVICE_MODE_LIMITS = { resets: 20, hours: 24 } as const;

/** What the device answered to PREPARE, with the nonce it answered. */
export interface DeviceProof extends DevicePrepared {
  readonly serverNonce: Uint8Array;
}

export interface ServerProof {
  readonly serverSignature: Uint8Array;
  readonly serverPublicKeyFingerprint: Uint8Array;
}

/** A cloud failure as core/cloud reports it: a code (CLOUD_*), its kind and the HTTP status. */
export interface ServiceModeCloudError extends LsError {
  readonly kind?: string;
  readonly status?: number;
}

export type CloudAnswer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ServiceModeCloudError };

/** The Particle Cloud's side of the exchange (`PUT /v1/products/:p/devices/:id/unprotect`). */
export interface ServiceModeCloud {
  unprotectPrepare(
    productId: string,
    deviceId: string,
    opts?: { readonly signal?: AbortSignal },
  ): Promise<CloudAnswer<{ readonly serverNonce: Uint8Array }>>;
  unprotectConfirm(
    productId: string,
    deviceId: string,
    proof: DeviceProof,
    opts?: { readonly signal?: AbortSignal },
  ): Promise<CloudAnswer<ServerProof>>;
}

export type ServiceModeErrorCode =
  | SetProtectedStateErrorCode
  | ControlErrorCode
  | 'SERVICE_MODE_NOT_PROTECTED'
  | 'SERVICE_MODE_PRODUCT_NOT_PROTECTED'
  | 'SERVICE_MODE_DEVICE_NOT_IN_PRODUCT'
  | 'SERVICE_MODE_DEVICE_KEY_UNKNOWN'
  | 'SERVICE_MODE_CLOUD_REFUSED'
  | 'SERVICE_MODE_CLOUD_UNAVAILABLE'
  | 'SERVICE_MODE_NOT_ENTERED'
  | 'SERVICE_MODE_NOT_LEFT'
  | 'DEVICE_WRONG_MODE'
  | 'ABORTED';

export type ServiceModeStep =
  | 'open'
  | 'state'
  | 'device-id'
  | 'cloud-prepare'
  | 'device-prepare'
  | 'cloud-confirm'
  | 'device-confirm'
  | 'device-reset'
  | 'verify';

export interface ServiceModeOptions {
  /** Overall budget. Default 60 s for entering (PREPARE to CONFIRM may take at most 60 s on the device), 20 s for leaving. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Each control request. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Per-request knobs (transfer timeout, CHECK back-off). */
  readonly request?: Omit<ControlRequestOptions, 'signal' | 'timeoutMs'>;
}

export interface EnterServiceModeOptions extends ServiceModeOptions {
  /** The product the device belongs to (ID or slug): the cloud grants Service Mode per product. */
  readonly productId: string | number;
}

export interface ServiceModeOutcome {
  readonly deviceId: string;
  /** The device's state before: 'protected', or 'service' (entering renews it; leaving ends it). */
  readonly before: 'protected' | 'service';
  /** GET_PROTECTED_STATE afterwards. */
  readonly protection: ProtectionState;
  readonly elapsedMs: number;
}

type Failure = { readonly ok: false; readonly error: LsError<ServiceModeErrorCode> };

const withStep = (error: LsError, step: ServiceModeStep): LsError<ServiceModeErrorCode> =>
  ({ ...error, details: { ...(error.details ?? {}), step } }) as LsError<ServiceModeErrorCode>;

/** Names a cloud refusal for the operator; the cloud's own error stays in details. */
const cloudFailure = (
  e: ServiceModeCloudError,
  step: ServiceModeStep,
  productId: string,
  deviceId: string,
): LsError<ServiceModeErrorCode> => {
  const details = { step, productId, deviceId, cloudCode: e.code, status: e.status, cloudMessage: e.message };
  switch (e.code) {
    case 'CLOUD_PROTECTION_NOT_ACTIVE':
      return {
        code: 'SERVICE_MODE_PRODUCT_NOT_PROTECTED',
        message: `The Particle Cloud will not put device ${deviceId} in Service Mode: product ${productId} does not have Device Protection.`,
        remedy:
          "Check the profile's product; a protected device belongs to a product with Device Protection. Set the device aside if it is in the wrong product.",
        details,
      };
    case 'CLOUD_DEVICE_NOT_IN_PRODUCT':
      return {
        code: 'SERVICE_MODE_DEVICE_NOT_IN_PRODUCT',
        message: `The Particle Cloud will not put device ${deviceId} in Service Mode: product ${productId} does not hold it.`,
        remedy:
          'A protected device can only be unprotected by the product that owns it: set it aside, or check the profile’s product.',
        details,
      };
    case 'CLOUD_DEVICE_KEY_UNKNOWN':
      return {
        code: 'SERVICE_MODE_DEVICE_KEY_UNKNOWN',
        message: `The Particle Cloud has no public key for device ${deviceId}, so it cannot vouch for it.`,
        remedy:
          "Check that the station talks to the cloud the device was made for (the profile's registration.apiBaseUrl); otherwise set the device aside and contact Particle.",
        details,
      };
    case 'CLOUD_SIGNATURE_INVALID':
      return {
        code: 'SERVICE_MODE_SIGNATURE_MISMATCH',
        message: `The Particle Cloud did not accept device ${deviceId}'s signature, so the device stays protected.`,
        remedy:
          'Retry once; if it repeats, the device does not hold the key Particle knows for it: set it aside.',
        details: { ...details, side: 'cloud' },
      };
    default:
      if (e.kind === 'backoff')
        return {
          code: 'SERVICE_MODE_CLOUD_UNAVAILABLE',
          message: `Could not reach the Particle Cloud for Service Mode: ${e.message}`,
          remedy: 'Retry when the cloud answers again; the device stays protected meanwhile.',
          details,
        };
      return {
        code: 'SERVICE_MODE_CLOUD_REFUSED',
        message: `The Particle Cloud refused Service Mode for device ${deviceId}: ${e.message}`,
        remedy: e.remedy ?? 'Fix what the cloud names, then retry.',
        details,
      };
  }
};

const isDfu = (device: UsbDeviceInfo): boolean => {
  const r = recognise(device);
  return r.kind === 'particle' && r.dfu;
};

/**
 * One open handle for a short sequence of requests (no reset happens in either direction), with
 * the budget, step tracking and failure naming both operations share.
 */
const run = async (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  options: ServiceModeOptions,
  defaultTimeoutMs: number,
  what: string,
  body: (ctx: {
    handle: UsbDeviceHandle;
    deadline: Deadline;
    req: () => ControlRequestOptions;
    step: (s: ServiceModeStep) => void;
    stopped: () => Failure;
  }) => Promise<Result<Omit<ServiceModeOutcome, 'elapsedMs'>, ServiceModeErrorCode>>,
): Promise<Result<ServiceModeOutcome, ServiceModeErrorCode>> => {
  if (isDfu(device))
    return err(
      'DEVICE_WRONG_MODE',
      `The device on port ${device.portPath} is in DFU mode; ${what} needs it running Device OS.`,
      { remedy: 'Reset the device into normal mode, then retry.', details: { portPath: device.portPath } },
    );
  const started = performance.now();
  const deadline = new Deadline(options.timeoutMs ?? defaultTimeoutMs, options.signal);
  let step: ServiceModeStep = 'open';
  const stopped = (): Failure => ({
    ok: false,
    error: withStep(
      deadline.timedOut
        ? {
            code: 'SERVICE_MODE_TIMEOUT',
            message: `${what[0]?.toUpperCase()}${what.slice(1)} did not finish within ${Math.round(deadline.timeoutMs / 100) / 10} s (at ${step}).`,
            remedy: 'Check the cable and the network; retry. The device stays as it was.',
            details: { timeoutMs: deadline.timeoutMs },
          }
        : { code: 'ABORTED', message: 'The operation was cancelled.' },
      step,
    ),
  });
  let handle: UsbDeviceHandle;
  try {
    handle = await transport.open(device, { signal: deadline.signal });
  } catch (e) {
    deadline.dispose();
    if (deadline.stopped) return stopped();
    return { ok: false, error: withStep(toLsError(e, 'USB_IO'), 'open') };
  }
  try {
    const r = await body({
      handle,
      deadline,
      req: () => ({
        ...options.request,
        timeoutMs: deadline.cap(options.requestTimeoutMs ?? 10_000),
        signal: deadline.signal,
      }),
      step: (s) => {
        step = s;
      },
      stopped,
    });
    if (!r.ok) {
      if (deadline.stopped) return stopped();
      const details = r.error.details ?? {};
      return { ok: false, error: 'step' in details ? r.error : withStep(r.error, step) };
    }
    return ok({ ...r.value, elapsedMs: performance.now() - started });
  } finally {
    deadline.dispose();
    await handle.close().catch(() => undefined);
  }
};

/** GET_PROTECTED_STATE, named for this operation: an open device has nothing to do here. */
const currentState = async (
  handle: UsbDeviceHandle,
  req: ControlRequestOptions,
): Promise<Result<{ before: 'protected' | 'service'; state: ProtectionState }, ServiceModeErrorCode>> => {
  const s = await getProtectedState(handle, req);
  if (!s.ok) return s;
  if (s.value.mode === 'protected' || s.value.mode === 'service')
    return ok({ before: s.value.mode, state: s.value });
  return err(
    'SERVICE_MODE_NOT_PROTECTED',
    'The device is not protected: there is no Service Mode to enter or leave.',
    {
      remedy: 'Nothing to do: program it as usual.',
      details: { source: s.value.source },
    },
  );
};

/** The ID the cloud knows the device by: its USB serial number, else GET_DEVICE_ID (20). */
const deviceIdOf = async (
  handle: UsbDeviceHandle,
  device: UsbDeviceInfo,
  req: ControlRequestOptions,
): Promise<Result<string, ServiceModeErrorCode>> => {
  const id = normalizeDeviceId(device.serialNumber);
  if (id.valid) return ok(id.id);
  const asked = await getDeviceId(handle, req);
  return asked.ok ? ok(asked.value.toLowerCase()) : asked;
};

/**
 * Puts a protected device (normal or listening mode) in Service Mode through the Particle Cloud, and
 * proves it with GET_PROTECTED_STATE. A device already in Service Mode gets a fresh 20 resets / 24 h.
 */
export const enterServiceMode = (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  cloud: ServiceModeCloud,
  options: EnterServiceModeOptions,
): Promise<Result<ServiceModeOutcome, ServiceModeErrorCode>> => {
  const productId = String(options.productId);
  return run(
    transport,
    device,
    options,
    60_000,
    'entering Service Mode',
    async ({ handle, deadline, req, step, stopped }) => {
      step('state');
      const state = await currentState(handle, req());
      if (!state.ok) return state;

      step('device-id');
      const id = await deviceIdOf(handle, device, req());
      if (!id.ok) return id;
      const deviceId = id.value;

      step('cloud-prepare');
      const prepared = await cloud.unprotectPrepare(productId, deviceId, { signal: deadline.signal });
      if (deadline.stopped) return stopped();
      if (!prepared.ok)
        return { ok: false, error: cloudFailure(prepared.error, 'cloud-prepare', productId, deviceId) };

      step('device-prepare');
      const answer = await prepareServiceMode(handle, prepared.value.serverNonce, req());
      if (!answer.ok) return answer;
      // 76 said protected, PREPARE says not: the state changed under us (another tool, a reset).
      if (answer.value === 'not-protected')
        return err(
          'SERVICE_MODE_NOT_PROTECTED',
          'The device answered PREPARE as a device that is not protected.',
          {
            remedy: 'Read its state again; if it is open, program it as usual.',
          },
        );

      step('cloud-confirm');
      const signed = await cloud.unprotectConfirm(
        productId,
        deviceId,
        { serverNonce: prepared.value.serverNonce, ...answer.value },
        { signal: deadline.signal },
      );
      if (deadline.stopped) return stopped();
      if (!signed.ok)
        return { ok: false, error: cloudFailure(signed.error, 'cloud-confirm', productId, deviceId) };

      step('device-confirm');
      const confirmed = await confirmServiceMode(handle, signed.value, req());
      if (!confirmed.ok) return confirmed;

      step('verify');
      const after = await getProtectedState(handle, req());
      if (!after.ok) return after;
      if (after.value.mode !== 'service')
        return err(
          'SERVICE_MODE_NOT_ENTERED',
          `The device accepted the cloud's confirmation but reports ${after.value.mode ?? 'an unknown state'}, not Service Mode.`,
          { remedy: 'Retry; if it repeats, set the device aside.', details: { protection: after.value } },
        );
      return ok({ deviceId, before: state.value.before, protection: after.value });
    },
  );
};

/**
 * Ends Service Mode (RESET; no cloud needed) and proves the device is protected again. A device
 * that is protected but not in Service Mode has nothing to leave (`before: 'protected'`).
 */
export const leaveServiceMode = (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  options: ServiceModeOptions = {},
): Promise<Result<ServiceModeOutcome, ServiceModeErrorCode>> =>
  run(transport, device, options, 20_000, 'leaving Service Mode', async ({ handle, req, step }) => {
    step('state');
    const state = await currentState(handle, req());
    if (!state.ok) return state;
    step('device-id');
    const id = await deviceIdOf(handle, device, req());
    if (!id.ok) return id;
    const deviceId = id.value;
    if (state.value.before === 'protected')
      return ok({ deviceId, before: 'protected', protection: state.value.state });

    step('device-reset');
    const cleared = await clearServiceMode(handle, req());
    if (!cleared.ok) return cleared;

    step('verify');
    const after = await getProtectedState(handle, req());
    if (!after.ok) return after;
    if (after.value.mode !== 'protected')
      return err(
        'SERVICE_MODE_NOT_LEFT',
        `The device accepted RESET but reports ${after.value.mode ?? 'an unknown state'}, not protected.`,
        {
          remedy: `Retry; Service Mode also ends by itself after ${SERVICE_MODE_LIMITS.resets} resets or ${SERVICE_MODE_LIMITS.hours} h.`,
          details: { protection: after.value },
        },
      );
    return ok({ deviceId, before: 'service', protection: after.value });
  });

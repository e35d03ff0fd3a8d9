import { err, type LsError, ok, type Result } from '../errors/result';
import type { UsbDeviceHandle } from '../usb/transport';
import {
  type ControlErrorCode,
  type ControlRequestOptions,
  rawControlRequest,
  resultError,
} from './control-client';
import { RequestType, ResultCode, resultCodeName } from './control-protocol';
import { bytesField, encodeFields, type FieldSpec, readFields } from './protobuf';
import { decodeReply } from './requests';

/*
 * SetProtectedStateRequest (77), the device's half of Service Mode (Device OS 6.1.1+,
 * system/src/control/config.cpp setProtectedState; messages in device-os-protobuf
 * control/config.proto; particle-usb src/device.js unprotectDevice):
 *
 *   SetProtectedStateRequest { Action action = 1 (RESET 0, PREPARE 1, CONFIRM 2);
 *     Prepare prepare = 2 { bytes server_nonce = 1 (32 bytes) };
 *     Confirm confirm = 3 { bytes server_signature = 1; bytes server_public_key_fingerprint = 2 (32) } }
 *   SetProtectedStateReply { optional Prepare prepare = 1 { bytes device_nonce = 1 (32);
 *     bytes device_signature = 2; bytes device_public_key_fingerprint = 3 (32) } }
 *
 * PREPARE takes the cloud's nonce and answers the device's nonce, its signature and its key's
 * fingerprint; a device that is neither protected nor in Service Mode answers without `prepare`.
 * CONFIRM takes the cloud's signature, checked against the server key in the device's DCT; it must
 * follow PREPARE within 60 s. RESET ends Service Mode without the cloud. 77 is one of the few
 * requests a protected device still answers.
 */

export const SERVICE_MODE_NONCE_SIZE = 32;

/** SetProtectedStateRequest.Action. */
export const PROTECTED_STATE_ACTION = { reset: 0, prepare: 1, confirm: 2 } as const;

export type SetProtectedStateRequest =
  | { readonly action: 'reset' }
  | { readonly action: 'prepare'; readonly serverNonce: Uint8Array }
  | {
      readonly action: 'confirm';
      readonly serverSignature: Uint8Array;
      readonly serverPublicKeyFingerprint: Uint8Array;
    };

/**
 * Byte for byte what particle-usb sends: its protobufjs encoder writes `action` even when it is
 * RESET (0), so RESET is `08 00`, not an empty message.
 */
export const encodeSetProtectedState = (req: SetProtectedStateRequest): Uint8Array => {
  const fields: FieldSpec[] = [{ field: 1, varint: PROTECTED_STATE_ACTION[req.action] }];
  if (req.action === 'prepare')
    fields.push({ field: 2, bytes: encodeFields([{ field: 1, bytes: req.serverNonce }]) });
  if (req.action === 'confirm')
    fields.push({
      field: 3,
      bytes: encodeFields([
        { field: 1, bytes: req.serverSignature },
        { field: 2, bytes: req.serverPublicKeyFingerprint },
      ]),
    });
  return encodeFields(fields);
};

/** The device's answer to PREPARE, for the cloud's `confirm`. */
export interface DevicePrepared {
  readonly deviceNonce: Uint8Array;
  readonly deviceSignature: Uint8Array;
  readonly devicePublicKeyFingerprint: Uint8Array;
}

/** The reply to PREPARE; undefined when it has no `prepare` part (the device is not protected). */
export const decodePrepareReply = (bytes: Uint8Array): DevicePrepared | undefined => {
  const prepare = bytesField(readFields(bytes), 1);
  if (prepare === undefined) return undefined;
  const f = readFields(prepare);
  return {
    deviceNonce: bytesField(f, 1) ?? new Uint8Array(0),
    deviceSignature: bytesField(f, 2) ?? new Uint8Array(0),
    devicePublicKeyFingerprint: bytesField(f, 3) ?? new Uint8Array(0),
  };
};

export type SetProtectedStateErrorCode =
  | ControlErrorCode
  | 'SERVICE_MODE_UNSUPPORTED'
  | 'SERVICE_MODE_SERVER_KEY_MISMATCH'
  | 'SERVICE_MODE_SIGNATURE_MISMATCH'
  | 'SERVICE_MODE_TIMEOUT'
  | 'SERVICE_MODE_DEVICE_REFUSED';

type Action = SetProtectedStateRequest['action'];

/** A non-zero result of request 77, named for the step that produced it. */
export const setProtectedStateError = (
  action: Action,
  result: number,
): LsError<SetProtectedStateErrorCode> => {
  // `action`, not `step`: the operation around it (service-mode.ts) names its own steps.
  const details = { action, result, resultName: resultCodeName(result) };
  if (result === ResultCode.NOT_SUPPORTED)
    return {
      code: 'SERVICE_MODE_UNSUPPORTED',
      message:
        "The device's Device OS has no Service Mode (it came with Device OS 6.1.1); a protected device on an older Device OS cannot be unprotected over USB.",
      remedy:
        'Set the device aside; Particle can update it over the air, or contact Particle about taking it out of Device Protection.',
      details,
    };
  if (action === 'confirm' && result === ResultCode.KEY_MISMATCH)
    return {
      code: 'SERVICE_MODE_SERVER_KEY_MISMATCH',
      message:
        'The device does not trust the key the cloud signed with: the station talks to another Particle Cloud than the one the device belongs to.',
      remedy:
        "Check the profile's registration.apiBaseUrl (the production cloud is https://api.particle.io), then retry.",
      details,
    };
  if (action === 'confirm' && result === ResultCode.INVALID_SIGNATURE)
    return {
      code: 'SERVICE_MODE_SIGNATURE_MISMATCH',
      message: "The device rejected the cloud's signature, so it stays protected.",
      remedy: 'Retry once; if it repeats, set the device aside and contact Particle.',
      details: { ...details, side: 'device' },
    };
  if (action === 'confirm' && result === ResultCode.TIMEOUT)
    return {
      code: 'SERVICE_MODE_TIMEOUT',
      message:
        "The device no longer accepted the cloud's answer: more than 60 s passed between its PREPARE and CONFIRM.",
      remedy: 'Retry; if the cloud is slow, check the network.',
      details: { ...details, cause: 'prepare-expired' },
    };
  return {
    code: 'SERVICE_MODE_DEVICE_REFUSED',
    message:
      action === 'confirm' && result === ResultCode.INVALID_STATE
        ? 'The device no longer holds the PREPARE this CONFIRM belongs to (it reset, or another tool talked to it).'
        : `The device refused the Service Mode ${action.toUpperCase()} request (${resultCodeName(result)}).`,
    remedy: 'Retry; close other tools talking to the device, and reset it if it keeps refusing.',
    details,
  };
};

const send = async (
  handle: UsbDeviceHandle,
  req: SetProtectedStateRequest,
  options: ControlRequestOptions,
): Promise<Result<Uint8Array, SetProtectedStateErrorCode>> => {
  const r = await rawControlRequest(
    handle,
    RequestType.SET_PROTECTED_STATE,
    encodeSetProtectedState(req),
    options,
  );
  if (!r.ok) return r;
  if (r.value.result === ResultCode.OK) return ok(r.value.data);
  // BUSY and the like keep their generic names; the rest is named for this request.
  if (r.value.result === ResultCode.BUSY)
    return { ok: false, error: resultError(RequestType.SET_PROTECTED_STATE, r.value.result) };
  return { ok: false, error: setProtectedStateError(req.action, r.value.result) };
};

/** PREPARE with the cloud's nonce: the device's proof, or 'not-protected'. */
export const prepareServiceMode = async (
  handle: UsbDeviceHandle,
  serverNonce: Uint8Array,
  options: ControlRequestOptions = {},
): Promise<Result<DevicePrepared | 'not-protected', SetProtectedStateErrorCode>> => {
  const r = await send(handle, { action: 'prepare', serverNonce }, options);
  if (!r.ok) return r;
  const reply = decodeReply('SET_PROTECTED_STATE', r.value, () => decodePrepareReply(r.value));
  if (!reply.ok) return reply;
  if (reply.value === undefined) return ok('not-protected');
  const p = reply.value;
  if (p.deviceNonce.length !== SERVICE_MODE_NONCE_SIZE || p.deviceSignature.length === 0)
    return err(
      'PARTICLE_PROTOCOL_ERROR',
      `The device answered PREPARE with a ${p.deviceNonce.length}-byte nonce and a ${p.deviceSignature.length}-byte signature.`,
    );
  return ok(p);
};

/** CONFIRM with the cloud's signature: the device enters Service Mode. */
export const confirmServiceMode = async (
  handle: UsbDeviceHandle,
  proof: { readonly serverSignature: Uint8Array; readonly serverPublicKeyFingerprint: Uint8Array },
  options: ControlRequestOptions = {},
): Promise<Result<void, SetProtectedStateErrorCode>> => {
  const r = await send(handle, { action: 'confirm', ...proof }, options);
  return r.ok ? ok(undefined) : r;
};

/** RESET: the device leaves Service Mode (protected again); no cloud involved. */
export const clearServiceMode = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<void, SetProtectedStateErrorCode>> => {
  const r = await send(handle, { action: 'reset' }, options);
  return r.ok ? ok(undefined) : r;
};

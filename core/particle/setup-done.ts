import { ok, type Result } from '../errors/result';
import type { UsbDeviceHandle } from '../usb/transport';
import { type ControlErrorCode, type ControlRequestOptions, controlRequest } from './control-client';
import { RequestType } from './control-protocol';
import { encodeFields, uintField } from './protobuf';
import { decodeReply } from './requests';

/*
 * The "setup done" flag (control/config.proto). On Gen 3 devices with Device OS before 4.0 it is
 * one DCT byte, and a device without it boots into listening mode (blinking dark blue) instead of
 * connecting: to a customer unboxing it, a device that seems broken. particle-cli sets it only in
 * `particle usb setup-done`; a line that programs Gen 3 devices on Device OS 3.x must set it.
 * From 4.0.0 the request is a no-op (done = true is accepted, done = false answers NOT_SUPPORTED,
 * IS answers true: Device OS system/src/control/config.cpp); the P2 family never needed it.
 */

/** SET_DEVICE_SETUP_DONE (73): `SetDeviceSetupDoneRequest { bool done = 1 }`. */
export const setSetupDone = async (
  handle: UsbDeviceHandle,
  done = true,
  options: ControlRequestOptions = {},
): Promise<Result<void, ControlErrorCode>> => {
  const payload = done ? encodeFields([{ field: 1, varint: 1 }]) : new Uint8Array(0);
  const r = await controlRequest(handle, RequestType.SET_DEVICE_SETUP_DONE, payload, options);
  return r.ok ? ok(undefined) : r;
};

/** IS_DEVICE_SETUP_DONE (74): `IsDeviceSetupDoneReply { bool done = 1 }`. */
export const isSetupDone = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<boolean, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.IS_DEVICE_SETUP_DONE, undefined, options);
  if (!r.ok) return r;
  return decodeReply('IS_DEVICE_SETUP_DONE', r.value, (f) => uintField(f, 1) !== 0);
};

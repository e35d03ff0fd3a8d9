import { err, fail, type LsError, LsFailure, ok, type Result, toLsError } from '../errors/result';
import { sleep } from '../time/sleep';
import { usbCodeOf } from '../usb/errors';
import type { UsbDeviceHandle, UsbErrorCode } from '../usb/transport';
import {
  checkSetup,
  DEFAULT_CHECK_INTERVALS,
  initSetup,
  MAX_CHUNK_SIZE,
  MAX_PAYLOAD_SIZE,
  MIN_WLENGTH,
  parseServiceReply,
  RequestType,
  ResultCode,
  recvSetup,
  resetSetup,
  resultCodeName,
  type ServiceReply,
  ServiceStatus,
  sendSetup,
} from './control-protocol';

/*
 * A sequential client for Particle control requests over the UsbTransport seam. One request at a
 * time per handle (the station never needs more), so unlike particle-usb there is no request
 * queue: INIT, SEND the payload, CHECK with back-off until done, RECV the reply, and on any failure
 * after INIT a best-effort RESET of that request so the device frees its slot.
 */

export type ControlErrorCode =
  | 'PARTICLE_NO_ANSWER'
  | 'PARTICLE_REQUEST_BUSY'
  | 'PARTICLE_REQUEST_NOT_SUPPORTED'
  | 'PARTICLE_REQUEST_FAILED'
  | 'PARTICLE_REQUEST_TIMEOUT'
  | 'PARTICLE_REQUEST_CANCELLED'
  | 'PARTICLE_NO_MEMORY'
  | 'PARTICLE_PROTOCOL_ERROR'
  | 'DEVICE_PROTECTED'
  | 'ABORTED'
  | UsbErrorCode;

export interface ControlRequestOptions {
  /** Budget for the whole request (INIT to last RECV). Default 10 s. */
  readonly timeoutMs?: number;
  /** Budget for each control transfer; particle-usb uses 5 s. */
  readonly transferTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Back-off between CHECKs, in ms; the last value repeats. */
  readonly checkIntervals?: readonly number[];
  /** How many times a BUSY INIT is retried (after resetting stale requests) before giving up. */
  readonly busyRetries?: number;
}

export interface ControlReply {
  /** Device OS system_error_t; 0 is success. */
  readonly result: number;
  readonly data: Uint8Array;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_TRANSFER_TIMEOUT_MS = 5_000;

const requestName = (type: number): string => {
  for (const [name, value] of Object.entries(RequestType)) if (value === type) return name;
  return `request ${type}`;
};

class Session {
  private readonly deadline: number;
  private readonly transferTimeoutMs: number;
  readonly name: string;

  constructor(
    readonly handle: UsbDeviceHandle,
    readonly type: number,
    readonly options: ControlRequestOptions,
  ) {
    this.deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.transferTimeoutMs = options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
    this.name = requestName(type);
  }

  private transferOptions(): { timeoutMs: number; signal: AbortSignal | undefined } {
    if (this.options.signal?.aborted) fail('ABORTED', 'The operation was cancelled.');
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) this.timedOut();
    return { timeoutMs: Math.min(this.transferTimeoutMs, remaining), signal: this.options.signal };
  }

  timedOut(): never {
    return fail(
      'PARTICLE_REQUEST_TIMEOUT',
      `The device did not complete the ${this.name} control request in time.`,
      {
        remedy: 'Check the cable; if the device keeps timing out, reset it and retry.',
        details: { requestType: this.type },
      },
    );
  }

  async service(setup: ReturnType<typeof checkSetup>): Promise<ServiceReply> {
    const data = await this.handle.controlIn(setup, MIN_WLENGTH, this.transferOptions());
    const reply = parseServiceReply(data);
    if (!reply)
      fail('PARTICLE_PROTOCOL_ERROR', `The device sent a malformed reply to the ${this.name} request.`, {
        details: { bytes: Array.from(data) },
      });
    return reply as ServiceReply;
  }

  async sleep(ms: number): Promise<void> {
    if (Date.now() + ms >= this.deadline) this.timedOut();
    if (!(await sleep(ms, this.options.signal)))
      throw new LsFailure({ code: 'ABORTED', message: 'The operation was cancelled.' });
  }

  async sendPayload(id: number, payload: Uint8Array): Promise<void> {
    for (let offset = 0; offset < payload.length; offset += MAX_CHUNK_SIZE) {
      const chunk = payload.subarray(offset, Math.min(offset + MAX_CHUNK_SIZE, payload.length));
      await this.handle.controlOut(sendSetup(id), chunk, this.transferOptions());
    }
  }

  async receivePayload(id: number, size: number): Promise<Uint8Array> {
    const out = new Uint8Array(size);
    for (let offset = 0; offset < size; ) {
      const want = Math.min(MAX_CHUNK_SIZE, size - offset);
      const chunk = await this.handle.controlIn(recvSetup(id), want, this.transferOptions());
      if (chunk.length !== want)
        fail(
          'PARTICLE_PROTOCOL_ERROR',
          `The device sent ${chunk.length} bytes of the ${this.name} reply where ${want} were due.`,
        );
      out.set(chunk, offset);
      offset += want;
    }
    return out;
  }
}

const noAnswer = (name: string, cause: LsError): LsFailure =>
  new LsFailure({
    code: 'PARTICLE_NO_ANSWER',
    message: `The device does not answer Particle control requests (${name}: ${cause.code}); its Device OS may be too old.`,
    remedy: 'Use the serial fallback (14400 baud) to enter DFU mode, or update Device OS.',
    details: { cause: cause.code },
  });

/**
 * Runs one control request and returns the device's reply whatever its `result` is. Transport
 * failures keep their USB_* codes; a device that STALLs or ignores INIT gives PARTICLE_NO_ANSWER.
 */
export const rawControlRequest = async (
  handle: UsbDeviceHandle,
  type: number,
  payload: Uint8Array | undefined,
  options: ControlRequestOptions = {},
): Promise<Result<ControlReply, ControlErrorCode>> => {
  const size = payload?.length ?? 0;
  if (size > MAX_PAYLOAD_SIZE)
    return err(
      'PARTICLE_PROTOCOL_ERROR',
      `A control request payload cannot exceed ${MAX_PAYLOAD_SIZE} bytes.`,
    );
  const s = new Session(handle, type, options);
  const intervals = options.checkIntervals ?? DEFAULT_CHECK_INTERVALS;
  const busyRetries = options.busyRetries ?? 2;
  let id: number | undefined;
  try {
    // INIT, retrying BUSY: with one request at a time, BUSY means stale requests from an earlier
    // host session (a crashed tool) still hold the device's slots, so reset them all and retry.
    let init: ServiceReply | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        init = await s.service(initSetup(type, size));
      } catch (e) {
        const code = usbCodeOf(e);
        if (code === 'USB_STALL' || code === 'USB_TIMEOUT') throw noAnswer(s.name, toLsError(e));
        throw e;
      }
      if (init.status !== ServiceStatus.BUSY) break;
      if (attempt >= busyRetries)
        fail('PARTICLE_REQUEST_BUSY', `The device is busy and refused the ${s.name} request.`, {
          remedy:
            'Close other programs talking to the device (particle-cli, the Particle Workbench), then retry.',
        });
      await s.service(resetSetup(0)).catch(() => undefined);
      await s.sleep(intervals[Math.min(attempt, intervals.length - 1)] ?? 100);
    }
    if (init.status === ServiceStatus.NO_MEMORY)
      fail('PARTICLE_NO_MEMORY', `The device has no memory for the ${s.name} request.`, {
        remedy: 'Reset the device and retry.',
      });
    if (init.status !== ServiceStatus.OK && init.status !== ServiceStatus.PENDING)
      fail('PARTICLE_PROTOCOL_ERROR', `The device answered INIT with status ${init.status}.`);
    if (init.id === undefined) fail('PARTICLE_PROTOCOL_ERROR', 'The device did not assign a request ID.');
    id = init.id as number;
    if (init.status === ServiceStatus.PENDING && size === 0)
      fail('PARTICLE_PROTOCOL_ERROR', 'The device reported a pending buffer for a request without payload.');

    // PENDING after INIT means the device is still allocating the payload buffer.
    let dataSent = false;
    if (init.status === ServiceStatus.OK) {
      if (payload && size > 0) await s.sendPayload(id, payload);
      dataSent = true;
    }
    for (let checks = 0; ; ) {
      await s.sleep(intervals[Math.min(checks, intervals.length - 1)] ?? 1000);
      checks++;
      const reply = await s.service(checkSetup(id));
      if (reply.status === ServiceStatus.PENDING) continue;
      if (reply.status === ServiceStatus.NO_MEMORY)
        fail('PARTICLE_NO_MEMORY', `The device ran out of memory handling the ${s.name} request.`, {
          remedy: 'Reset the device and retry.',
        });
      if (reply.status === ServiceStatus.NOT_FOUND)
        fail('PARTICLE_REQUEST_CANCELLED', `The device dropped the ${s.name} request.`, {
          remedy: 'Retry; another program may have reset the device’s requests.',
        });
      if (reply.status !== ServiceStatus.OK)
        fail('PARTICLE_PROTOCOL_ERROR', `The device answered CHECK with status ${reply.status}.`);
      if (!dataSent) {
        if (payload) await s.sendPayload(id, payload);
        dataSent = true;
        checks = 0;
        continue;
      }
      const result = reply.result ?? ResultCode.OK;
      const data = reply.size ? await s.receivePayload(id, reply.size) : new Uint8Array(0);
      return ok({ result, data });
    }
  } catch (e) {
    const error = toLsError(e) as LsError<ControlErrorCode>;
    // Free the device's request slot unless the device is gone (nothing left to free).
    if (id !== undefined && error.code !== 'USB_DISCONNECTED' && error.code !== 'USB_NOT_FOUND') {
      await handle
        .controlIn(resetSetup(id), MIN_WLENGTH, { timeoutMs: 1000, signal: undefined })
        .catch(() => undefined);
    }
    return { ok: false, error };
  }
};

/**
 * A protected device (Device OS 6+) answers -1801 to every control request but a handful (device ID,
 * protection state); the operator cannot fix that at the station, only through the Particle Cloud.
 */
export const deviceProtected = (
  what: string,
  details: Record<string, unknown> = {},
): LsError<'DEVICE_PROTECTED'> => ({
  code: 'DEVICE_PROTECTED',
  message: `The device has Device Protection on and refused the ${what} request.`,
  remedy:
    'Put the device in Service Mode from the Particle Cloud (particle device-protection disable), or take it off this line: a protected device cannot be reprogrammed over USB.',
  details: { ...details, result: ResultCode.PROTECTED },
});

/** Maps a non-zero Device OS result to a named error. */
export const resultError = (type: number, result: number): LsError<ControlErrorCode> => {
  const name = requestName(type);
  if (result === ResultCode.NOT_SUPPORTED)
    return {
      code: 'PARTICLE_REQUEST_NOT_SUPPORTED',
      message: `This device's Device OS does not support the ${name} request.`,
      remedy: 'Update Device OS, or use the serial fallback.',
      details: { requestType: type, result },
    };
  if (result === ResultCode.PROTECTED) return deviceProtected(name, { requestType: type, result });
  if (result === ResultCode.BUSY)
    return {
      code: 'PARTICLE_REQUEST_BUSY',
      message: `The device is busy and refused the ${name} request.`,
      remedy: 'Wait a moment and retry; close other programs talking to the device.',
      details: { requestType: type, result },
    };
  return {
    code: 'PARTICLE_REQUEST_FAILED',
    message: `The device failed the ${name} request (${resultCodeName(result)}).`,
    details: { requestType: type, result },
  };
};

/** Runs one control request and turns a non-zero `result` into a named error. */
export const controlRequest = async (
  handle: UsbDeviceHandle,
  type: number,
  payload: Uint8Array | undefined,
  options: ControlRequestOptions = {},
): Promise<Result<Uint8Array, ControlErrorCode>> => {
  const reply = await rawControlRequest(handle, type, payload, options);
  if (!reply.ok) return reply;
  if (reply.value.result !== ResultCode.OK)
    return { ok: false, error: resultError(type, reply.value.result) };
  return ok(reply.value.data);
};

import { err, type LsError, ok, type Result } from '../errors/result';
import type { UsbDeviceHandle } from '../usb/transport';
import { type ControlRequestOptions, rawControlRequest } from './control-client';
import { MAX_PAYLOAD_SIZE, RequestType, ResultCode } from './control-protocol';
import { Deadline } from './deadline';
import { encodeFields, uintField } from './protobuf';
import { decodeReply } from './requests';
import { type UpdateErrorCode, type UpdateFormat, type UpdateStep, updateResultError } from './update-errors';

/*
 * The host side of Device OS's normal-mode firmware update (control/storage.proto): START (250)
 * with the size, DATA (253) chunks strictly one after another at the device's chunk size, FINISH
 * (251), or CANCEL (252). This is what particle-usb's `updateFirmware` sends (src/device.js), with
 * the device's refusals named instead of thrown as "Request error".
 *
 * Device side (Device OS system/src/control/storage.cpp): START cancels any earlier USB update and
 * erases the update area before it replies (CHECK answers PENDING meanwhile, so START needs a long
 * budget); DATA takes bytes at the running offset; any DATA error cancels the whole transfer; FINISH
 * validates the module, replies, and then the device installs it and resets.
 */

/** DATA carries `bytes data = 1`: one tag byte and up to three length bytes around the chunk. */
const DATA_OVERHEAD = 4;
/** The largest chunk one DATA request can carry (the service protocol's 16-bit payload size). */
export const MAX_DATA_CHUNK = MAX_PAYLOAD_SIZE - DATA_OVERHEAD;

/** Budgets per request, capped by the whole update's deadline. START erases flash first. */
const START_TIMEOUT_MS = 60_000;
const DATA_TIMEOUT_MS = 10_000;
const FINISH_TIMEOUT_MS = 30_000;
const CANCEL_TIMEOUT_MS = 2_000;

/**
 * CHECK back-off while START erases the update area (≈ 40 ms per 4 KB on Gen 3: half a second for a
 * bootloader, seconds for NCP firmware). The general back-off grows to 500 ms and then 1 s, so a
 * CHECK that just misses the end of the erase leaves the answer waiting up to that long: a 46 KB
 * bootloader's 485 ms erase was answered after ≈ 960 ms (bench/install.ts). Capped at 25 ms, the
 * wait overshoots the erase by at most one interval, for one ~3 ms CHECK every 25 ms meanwhile.
 */
export const START_CHECK_INTERVALS: readonly number[] = [5, 5, 10, 20, 25];

export interface UpdateRequestOptions extends ControlRequestOptions {}

/** `StartFirmwareUpdateRequest { uint32 size = 1; FileFormat format = 2 }`, BIN = 0, MINIZ = 1. */
export const encodeStartRequest = (size: number, format: UpdateFormat = 'bin'): Uint8Array =>
  encodeFields([{ field: 1, varint: size }, ...(format === 'miniz' ? [{ field: 2, varint: 1 }] : [])]);

/** `FirmwareUpdateDataRequest { bytes data = 1 }`, built without copying the chunk twice. */
export const encodeDataRequest = (chunk: Uint8Array): Uint8Array => {
  const len: number[] = [];
  for (let v = chunk.length; ; v = Math.floor(v / 128)) {
    if (v < 0x80) {
      len.push(v);
      break;
    }
    len.push((v % 128) | 0x80);
  }
  const out = new Uint8Array(1 + len.length + chunk.length);
  out[0] = (1 << 3) | 2;
  out.set(len, 1);
  out.set(chunk, 1 + len.length);
  return out;
};

/** `FinishFirmwareUpdateRequest { bool validate_only = 1 }` (false is proto3's empty message). */
export const encodeFinishRequest = (validateOnly: boolean): Uint8Array =>
  validateOnly ? encodeFields([{ field: 1, varint: 1 }]) : new Uint8Array(0);

type Reply = Result<Uint8Array, UpdateErrorCode>;

const run = async (
  handle: UsbDeviceHandle,
  step: UpdateStep,
  type: number,
  payload: Uint8Array | undefined,
  options: UpdateRequestOptions,
  context: { size?: number; offset?: number; format?: UpdateFormat } = {},
): Promise<Reply> => {
  const r = await rawControlRequest(handle, type, payload, options);
  if (!r.ok) return r;
  if (r.value.result !== ResultCode.OK)
    return { ok: false, error: updateResultError(step, r.value.result, context) };
  return ok(r.value.data);
};

/** START_FIRMWARE_UPDATE (250): the device erases its update area and names its chunk size. */
export const startUpdate = async (
  handle: UsbDeviceHandle,
  size: number,
  options: UpdateRequestOptions & { format?: UpdateFormat } = {},
): Promise<Result<{ chunkSize: number }, UpdateErrorCode>> => {
  const format = options.format ?? 'bin';
  const r = await run(
    handle,
    'start',
    RequestType.START_FIRMWARE_UPDATE,
    encodeStartRequest(size, format),
    {
      timeoutMs: START_TIMEOUT_MS,
      ...options,
      checkIntervals: options.checkIntervals ?? START_CHECK_INTERVALS,
    },
    { size, format },
  );
  if (!r.ok) return r;
  const chunk = decodeReply('START_FIRMWARE_UPDATE', r.value, (f) => uintField(f, 1));
  if (!chunk.ok) return chunk;
  // A zero chunk size would never make progress (particle-usb would loop forever on it).
  if (chunk.value === 0)
    return err('PARTICLE_PROTOCOL_ERROR', 'The device started the update but named a chunk size of 0.', {
      remedy: 'Reset the device and retry.',
    });
  return ok({ chunkSize: Math.min(chunk.value, MAX_DATA_CHUNK) });
};

/** FIRMWARE_UPDATE_DATA (253): one chunk at `offset`. On any error the device has cancelled the update. */
export const sendData = async (
  handle: UsbDeviceHandle,
  chunk: Uint8Array,
  offset: number,
  options: UpdateRequestOptions = {},
): Promise<Result<void, UpdateErrorCode>> => {
  if (chunk.length === 0 || chunk.length > MAX_DATA_CHUNK)
    return err('PARTICLE_PROTOCOL_ERROR', `A firmware data chunk must hold 1 to ${MAX_DATA_CHUNK} bytes.`);
  const r = await run(
    handle,
    'data',
    RequestType.FIRMWARE_UPDATE_DATA,
    encodeDataRequest(chunk),
    { timeoutMs: DATA_TIMEOUT_MS, ...options },
    { offset },
  );
  return r.ok ? ok(undefined) : r;
};

/**
 * FINISH_FIRMWARE_UPDATE (251): the device validates the module. With `validateOnly` it replies with
 * the verdict and discards the upload; otherwise it installs the module and resets after replying.
 */
export const finishUpdate = async (
  handle: UsbDeviceHandle,
  options: UpdateRequestOptions & { validateOnly?: boolean } = {},
): Promise<Result<void, UpdateErrorCode>> => {
  const r = await run(
    handle,
    'finish',
    RequestType.FINISH_FIRMWARE_UPDATE,
    encodeFinishRequest(options.validateOnly ?? false),
    { timeoutMs: FINISH_TIMEOUT_MS, ...options },
  );
  return r.ok ? ok(undefined) : r;
};

/** CANCEL_FIRMWARE_UPDATE (252): drops whatever the device has received. */
export const cancelUpdate = async (
  handle: UsbDeviceHandle,
  options: UpdateRequestOptions = {},
): Promise<Result<void, UpdateErrorCode>> => {
  const r = await run(handle, 'cancel', RequestType.CANCEL_FIRMWARE_UPDATE, undefined, {
    timeoutMs: CANCEL_TIMEOUT_MS,
    ...options,
  });
  return r.ok ? ok(undefined) : r;
};

export interface SendFirmwareOptions {
  /** One budget for START, every DATA and FINISH. Default 120 s (particle-usb's). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  readonly format?: UpdateFormat;
  /** FINISH with validate_only: the device checks the module and throws it away. */
  readonly validateOnly?: boolean;
  /** Per-request knobs (transfer timeout, CHECK back-off); timeouts are capped by the deadline. */
  readonly request?: Omit<ControlRequestOptions, 'signal' | 'timeoutMs'>;
  /** START answered: the device erased its update area and will take chunks of `chunkSize`. */
  readonly onStarted?: (chunkSize: number) => void;
  /** A DATA chunk of `bytes` was accepted. */
  readonly onData?: (bytes: number) => void;
}

export interface SentFirmware {
  readonly chunkSize: number;
  readonly chunks: number;
  /**
   * `accepted`: FINISH answered OK. `unconfirmed`: the device left the bus while FINISH was in
   * flight, which is what a device that accepted and reset at once looks like, but also what a
   * pulled cable looks like; only reading the module back tells them apart.
   */
  readonly finish: 'accepted' | 'unconfirmed';
}

const GONE = new Set(['USB_DISCONNECTED', 'USB_NOT_FOUND']);

/** Names why the deadline's signal stopped a request. */
const stoppedError = (deadline: Deadline, what: string): LsError<UpdateErrorCode> =>
  deadline.timedOut
    ? {
        code: 'DEVICE_UPDATE_TIMEOUT',
        message: `The firmware update did not finish within ${(deadline.timeoutMs / 1000).toFixed(0)} s (${what}).`,
        remedy: 'Check the cable; reset the device and retry. NCP updates can take several minutes.',
        details: { timeoutMs: deadline.timeoutMs, step: what },
      }
    : { code: 'ABORTED', message: 'The operation was cancelled.', details: { step: what } };

/**
 * START, DATA chunks, FINISH on one open handle, under one deadline and AbortSignal: particle-usb's
 * `updateFirmware`. On a failure after START that left the device's update open (a timeout, an
 * abort, a USB error), a best-effort CANCEL frees it; after a DATA error the device has already
 * cancelled, and the whole module must be sent again from START.
 */
export const sendFirmware = async (
  handle: UsbDeviceHandle,
  data: Uint8Array,
  options: SendFirmwareOptions = {},
): Promise<Result<SentFirmware, UpdateErrorCode>> => {
  if (data.length === 0)
    return err('DEVICE_UPDATE_EMPTY_IMAGE', 'The firmware image is empty; there is nothing to send.', {
      remedy: 'Check the product profile: the module file is missing or empty.',
    });
  const deadline = new Deadline(options.timeoutMs ?? 120_000, options.signal);
  const req = (ms: number): UpdateRequestOptions => ({
    ...options.request,
    timeoutMs: deadline.cap(ms),
    signal: deadline.signal,
  });
  const stopped = (r: { ok: false; error: LsError<UpdateErrorCode> }, what: string) =>
    deadline.stopped ? { ok: false as const, error: stoppedError(deadline, what) } : r;
  let open = false;
  const fail = async (
    r: { ok: false; error: LsError<UpdateErrorCode> },
    what: string,
  ): Promise<{ ok: false; error: LsError<UpdateErrorCode> }> => {
    // The device cancels by itself on a DATA or FINISH refusal; a transport failure or our own
    // deadline leaves its update open until the next START, so say CANCEL while we can.
    if (open && !GONE.has(r.error.code) && !isDeviceAnswer(r.error))
      await cancelUpdate(handle, { ...options.request, timeoutMs: CANCEL_TIMEOUT_MS }).catch(() => undefined);
    return stopped(r, what);
  };
  try {
    const started = await startUpdate(handle, data.length, {
      ...req(START_TIMEOUT_MS),
      format: options.format,
    });
    if (!started.ok) return stopped(started, 'start');
    open = true;
    const { chunkSize } = started.value;
    options.onStarted?.(chunkSize);
    let chunks = 0;
    for (let offset = 0; offset < data.length; offset += chunkSize) {
      const chunk = data.subarray(offset, Math.min(offset + chunkSize, data.length));
      const sent = await sendData(handle, chunk, offset, req(DATA_TIMEOUT_MS));
      if (!sent.ok) return await fail(sent, 'data');
      chunks++;
      options.onData?.(chunk.length);
    }
    const finished = await finishUpdate(handle, {
      ...req(FINISH_TIMEOUT_MS),
      validateOnly: options.validateOnly ?? false,
    });
    if (!finished.ok) {
      if (GONE.has(finished.error.code) && !deadline.stopped && !options.validateOnly)
        return ok({ chunkSize, chunks, finish: 'unconfirmed' });
      return await fail(finished, 'finish');
    }
    return ok({ chunkSize, chunks, finish: 'accepted' });
  } finally {
    deadline.dispose();
  }
};

/** A refusal the device sent as a request result: Device OS cancels its update on any of them. */
const isDeviceAnswer = (e: LsError): boolean => typeof e.details?.result === 'number';

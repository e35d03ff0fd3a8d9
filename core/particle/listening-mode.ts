import { err, ok, type Result } from '../errors/result';
import { sleep } from '../time/sleep';
import type { UsbDeviceHandle } from '../usb/transport';
import { type ControlErrorCode, type ControlRequestOptions, controlRequest } from './control-client';
import { RequestType } from './control-protocol';
import { getDeviceMode } from './requests';

/*
 * Listening mode over control requests, the way Particle's tools prepare a device for a normal-mode
 * update (particle-usb src/device.js enterListeningMode, used by particle-cli flash-helper.js):
 * START_LISTENING (70), then GET_DEVICE_MODE (72) every 500 ms until it says LISTENING. In
 * listening mode the application and the cloud connection are paused, so neither can start an
 * OTA of its own or hog the flash while we write the update area.
 *
 * Nothing here is allowed to fail the update: some applications refuse listening mode, and
 * Device OS releases that lack GET_DEVICE_MODE still take START_LISTENING. Particle's tools ignore
 * every error here, and so do we; the outcome only says what happened, for the report.
 */

export type ListeningOutcome =
  /** The device already said LISTENING before we asked. */
  | 'already'
  /** We asked, and GET_DEVICE_MODE then said LISTENING. */
  | 'entered'
  /** We asked, but never saw LISTENING in time (refused, or the device did not answer). */
  | 'unconfirmed'
  /** The device cannot report its mode (GET_DEVICE_MODE not supported): asked, not confirmed. */
  | 'not-reported';

export interface ListeningOptions {
  /** How long to poll for LISTENING. Default 10 s. */
  readonly timeoutMs?: number;
  /** Poll interval; particle-usb uses 500 ms. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Per-request options (timeouts, CHECK back-off) for START_LISTENING and GET_DEVICE_MODE. */
  readonly request?: ControlRequestOptions;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_POLL_MS = 500;

/** Asks for listening mode and waits until the device says so; only ABORTED is an error. */
export const enterListeningMode = async (
  handle: UsbDeviceHandle,
  options: ListeningOptions = {},
): Promise<Result<ListeningOutcome, 'ABORTED'>> => {
  const request: ControlRequestOptions = { timeoutMs: 3000, ...options.request, signal: options.signal };
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const aborted = () => err('ABORTED', 'The operation was cancelled.');

  const before = await getDeviceMode(handle, request);
  if (before.ok && before.value === 'listening') return ok('already');
  if (options.signal?.aborted) return aborted();

  // Ignored on purpose (see above): the mode poll decides what happened.
  await controlRequest(handle, RequestType.START_LISTENING, undefined, request);
  for (;;) {
    if (options.signal?.aborted) return aborted();
    const mode = await getDeviceMode(handle, request);
    if (mode.ok && mode.value === 'listening') return ok('entered');
    // particle-usb stops polling on a device's error reply: it will not start answering later.
    if (!mode.ok && mode.error.code === 'PARTICLE_REQUEST_NOT_SUPPORTED') return ok('not-reported');
    const left = deadline - Date.now();
    if (left <= 0) return ok('unconfirmed');
    if (!(await sleep(Math.min(options.pollMs ?? DEFAULT_POLL_MS, left), options.signal))) return aborted();
  }
};

/** STOP_LISTENING (71): back to normal operation. */
export const stopListening = async (
  handle: UsbDeviceHandle,
  options: ControlRequestOptions = {},
): Promise<Result<void, ControlErrorCode>> => {
  const r = await controlRequest(handle, RequestType.STOP_LISTENING, undefined, options);
  return r.ok ? ok(undefined) : r;
};

import { LsFailure } from '../errors/result';
import { DfuState, stateName, statusName } from './constants';
import { type OpContext, sleep, yieldToEventLoop } from './context';
import { deviceError, dfuFailure, hex } from './errors';
import type { DfuRequests, DfuStatus } from './requests';

/**
 * How long a device may stay busy on one request before we call it stuck. The slowest real
 * operation is an STM32F2 128 KB sector erase (1–2 s typical, ~4 s worst case), so 30 s is
 * generous and still far below the overall timeout of a whole flash.
 */
export const DEFAULT_BUSY_LIMIT_MS = 30_000;

export interface PollOptions {
  readonly operation: string;
  readonly address?: number | undefined;
  /** States that end the wait successfully. */
  readonly until: readonly number[];
  readonly busyLimitMs?: number;
}

/**
 * After a DNLOAD: GETSTATUS, wait exactly bwPollTimeout while the device is busy, repeat until it
 * reaches one of `until`. An OK status in an idle state returns at once without sleeping.
 * dfuERROR is cleared (so the device is usable again) and raised as a named error.
 */
export const pollUntil = async (
  io: DfuRequests,
  ctx: OpContext,
  options: PollOptions,
): Promise<DfuStatus> => {
  const limit = options.busyLimitMs ?? DEFAULT_BUSY_LIMIT_MS;
  const started = performance.now();
  for (;;) {
    const st = await io.getStatus(ctx);
    if (st.state === DfuState.dfuERROR) {
      await clearQuietly(io, ctx);
      throw deviceError(st.status, st.state, options.operation, options.address);
    }
    if (st.status !== 0) {
      // A non-OK status outside dfuERROR breaks the spec's pairing; trust neither and stop.
      await recoverToIdle(io, ctx).catch(() => undefined);
      throw dfuFailure(
        'DFU_BAD_STATUS',
        `The device reported ${statusName(st.status)} while in ${stateName(st.state)} during ${options.operation}${
          options.address === undefined ? '' : ` at ${hex(options.address)}`
        }.`,
        {
          remedy: 'Retry; if it repeats, the device bootloader misbehaves: set the device aside.',
          details: {
            status: statusName(st.status),
            state: stateName(st.state),
            operation: options.operation,
          },
        },
      );
    }
    if (options.until.includes(st.state)) return st;
    if (
      st.state !== DfuState.dfuDNBUSY &&
      st.state !== DfuState.dfuDNLOAD_SYNC &&
      st.state !== DfuState.dfuMANIFEST &&
      st.state !== DfuState.dfuMANIFEST_SYNC
    )
      throw dfuFailure(
        'DFU_BAD_STATE',
        `The device went to ${stateName(st.state)} during ${options.operation} (expected ${options.until
          .map(stateName)
          .join(' or ')}).`,
        { details: { state: stateName(st.state), operation: options.operation } },
      );
    if (performance.now() - started > limit)
      throw dfuFailure(
        'DFU_DEVICE_STUCK',
        `The device stayed in ${stateName(st.state)} for more than ${limit} ms during ${options.operation}${
          options.address === undefined ? '' : ` at ${hex(options.address)}`
        }.`,
        {
          remedy: 'Power-cycle the device and retry; set it aside if it happens again.',
          details: { state: stateName(st.state), operation: options.operation, busyLimitMs: limit },
        },
      );
    // bwPollTimeout 0 while busy (Particle bootloader v12+): ask again at once, but let the event
    // loop turn so our own deadline and the caller's abort can still fire.
    if (st.pollTimeoutMs > 0) await sleep(st.pollTimeoutMs, ctx);
    else await yieldToEventLoop(ctx);
  }
};

const clearQuietly = async (io: DfuRequests, ctx: OpContext): Promise<void> => {
  try {
    await io.clrStatus(ctx);
  } catch (e) {
    if (ctx.signal.aborted) throw ctx.abortFailure();
    // The device may already have dropped; the original dfuERROR is the news.
    void e;
  }
};

/**
 * Brings the device to dfuIDLE from whatever state it is in, as the state requires:
 * dfuERROR → CLRSTATUS; any *-IDLE/-SYNC state → ABORT; busy → wait its poll timeout.
 * A device in appIDLE or waiting for a reset cannot be brought back by requests. `accept` lists
 * states the next operation can start from as they are (DfuSe commands are legal in
 * dfuDNLOAD-IDLE too), which saves an ABORT and a GETSTATUS per operation.
 */

/** States a DfuSe command (SET_ADDRESS, ERASE, data block) may be sent in. */
export const DFUSE_READY: readonly number[] = [DfuState.dfuIDLE, DfuState.dfuDNLOAD_IDLE];

export const recoverToIdle = async (
  io: DfuRequests,
  ctx: OpContext,
  accept: readonly number[] = [DfuState.dfuIDLE],
  maxSteps = 8,
): Promise<DfuStatus> => {
  let stalls = 0;
  for (let step = 0; step < maxSteps; step++) {
    let st: DfuStatus;
    try {
      st = await io.getStatus(ctx);
    } catch (e) {
      // A GETSTATUS STALL leaves the device in dfuERROR (DFU 1.1 §6.1.2): clear and look again.
      if (e instanceof LsFailure && e.error.code === 'USB_STALL' && stalls++ < 2) {
        await io.clrStatus(ctx).catch(() => undefined);
        continue;
      }
      throw e;
    }
    if (accept.includes(st.state)) return st;
    switch (st.state) {
      case DfuState.dfuERROR:
        await io.clrStatus(ctx);
        break;
      case DfuState.dfuDNLOAD_IDLE:
      case DfuState.dfuUPLOAD_IDLE:
      case DfuState.dfuDNLOAD_SYNC:
      case DfuState.dfuMANIFEST_SYNC:
        await io.abort(ctx);
        break;
      case DfuState.dfuDNBUSY:
      case DfuState.dfuMANIFEST:
        await sleep(Math.max(1, st.pollTimeoutMs), ctx);
        break;
      default:
        throw dfuFailure(
          'DFU_BAD_STATE',
          `The device is in ${stateName(st.state)}, from which DFU requests cannot bring it back.`,
          {
            remedy: 'Unplug and replug the device (or reset it into DFU mode), then retry.',
            details: { state: stateName(st.state) },
          },
        );
    }
  }
  const st = await io.getStatus(ctx);
  if (st.state === DfuState.dfuIDLE) return st;
  throw dfuFailure(
    'DFU_BAD_STATE',
    `The device did not return to dfuIDLE (it is in ${stateName(st.state)}).`,
    {
      remedy: 'Unplug and replug the device, then retry.',
      details: { state: stateName(st.state) },
    },
  );
};

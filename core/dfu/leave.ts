import { LsFailure } from '../errors/result';
import { DfuState, stateName } from './constants';
import type { OpContext } from './context';
import { setAddressPointer } from './dfuse';
import { deviceError, dfuFailure } from './errors';
import type { DfuRequests } from './requests';
import { DFUSE_READY, recoverToIdle } from './state';

export interface LeaveResult {
  /** The state the device reported after the zero-length DNLOAD, or 'reset' if it was already gone. */
  readonly finalState: string;
}

/**
 * Transport errors that mean the device already reset, which is what leaving asks it to do (libusb
 * reports a device vanishing mid-transfer as NO_DEVICE or IO). A STALL is not one of them: a device
 * that refuses the request is still there, in DFU mode. The station confirms the device comes back
 * in normal mode afterwards, which catches an IO error that was not a reset.
 */
const isGoneError = (e: unknown): boolean =>
  e instanceof LsFailure && ['USB_DISCONNECTED', 'USB_NOT_FOUND', 'USB_IO'].includes(e.error.code);

const LEFT_STATES: readonly number[] = [
  DfuState.dfuMANIFEST_SYNC,
  DfuState.dfuMANIFEST,
  DfuState.dfuMANIFEST_WAIT_RESET,
];

/**
 * DfuSe leave (AN3156 §6.3.3 "Leave DFU mode"): SET_ADDRESS to the jump address (which puts the
 * device in dfuDNLOAD-IDLE, the only state a zero-length DNLOAD is legal in), then a zero-length
 * DNLOAD, then one GETSTATUS that starts manifestation. Gen 2 Particle bootloaders answer
 * dfuDNLOAD-IDLE instead of dfuMANIFEST (to please dfu-util) and reset by themselves.
 */
export const leaveDfuse = async (
  io: DfuRequests,
  ctx: OpContext,
  jumpAddress: number,
  staysInDnloadIdle: boolean,
): Promise<LeaveResult> => {
  await recoverToIdle(io, ctx, DFUSE_READY);
  await setAddressPointer(io, ctx, jumpAddress);
  return finishLeave(io, ctx, staysInDnloadIdle, 2);
};

/**
 * Plain DFU 1.1: the download already ended with manifestation, so leaving is only asking the
 * device to run its firmware: DETACH where it says it will detach by itself (bitWillDetach), else
 * nothing we can do over control requests (the device runs after a USB reset or replug).
 */
export const leavePlain = async (
  io: DfuRequests,
  ctx: OpContext,
  willDetach: boolean,
): Promise<LeaveResult> => {
  const st = await recoverToIdle(io, ctx, [DfuState.dfuIDLE, DfuState.dfuMANIFEST_WAIT_RESET]);
  if (st.state === DfuState.dfuIDLE && willDetach) {
    try {
      await io.detach(1000, ctx);
    } catch (e) {
      if (!isGoneError(e)) throw e;
    }
    return { finalState: 'detached' };
  }
  return { finalState: `${stateName(st.state)} (needs a USB reset to run the firmware)` };
};

const finishLeave = async (
  io: DfuRequests,
  ctx: OpContext,
  staysInDnloadIdle: boolean,
  block: number,
): Promise<LeaveResult> => {
  try {
    await io.dnload(block, undefined, ctx);
  } catch (e) {
    // Some bootloaders reset before the status stage completes.
    if (isGoneError(e)) return { finalState: 'reset' };
    throw e;
  }
  let st: Awaited<ReturnType<DfuRequests['getStatus']>>;
  try {
    st = await io.getStatus(ctx);
  } catch (e) {
    if (isGoneError(e)) return { finalState: 'reset' };
    throw e;
  }
  if (st.state === DfuState.dfuERROR) {
    await io.clrStatus(ctx).catch(() => undefined);
    throw deviceError(st.status, st.state, 'leave', undefined);
  }
  if (LEFT_STATES.includes(st.state) || st.state === DfuState.dfuIDLE)
    return { finalState: stateName(st.state) };
  if (st.state === DfuState.dfuDNLOAD_IDLE && staysInDnloadIdle) return { finalState: stateName(st.state) };
  throw dfuFailure(
    'DFU_BAD_STATE',
    `The device went to ${stateName(st.state)} instead of leaving DFU mode.`,
    {
      remedy: 'Reset the device by hand (RESET button or replug); the firmware is already written.',
      details: { state: stateName(st.state) },
    },
  );
};

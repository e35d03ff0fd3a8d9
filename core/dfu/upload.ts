import { DfuState } from './constants';
import type { OpContext } from './context';
import { setAddressPointer } from './dfuse';
import type { TransferSettings } from './download';
import { dfuFailure, hex } from './errors';
import { PhaseProgress } from './progress';
import type { DfuRequests } from './requests';
import { DFUSE_READY, recoverToIdle } from './state';

/** Where readback first differs from the image, if anywhere. */
export interface VerifyResult {
  readonly ok: boolean;
  readonly mismatchAddress?: number;
  readonly expected?: number;
  readonly actual?: number;
}

type BlockSink = (block: Uint8Array, offset: number) => boolean;

/**
 * DfuSe upload (AN3156 §6.4): SET_ADDRESS, ABORT back to dfuIDLE (UPLOAD is only allowed from
 * dfuIDLE/dfuUPLOAD-IDLE), then UPLOAD with wValue = 2 + n reads pointer + n × wTransferSize.
 * `sink` returning false stops early (verify found a difference) and the device is ABORTed to idle.
 */
const uploadDfuseBlocks = async (
  io: DfuRequests,
  ctx: OpContext,
  address: number,
  length: number,
  settings: TransferSettings,
  phase: 'verify' | 'download',
  sink: BlockSink,
): Promise<void> => {
  const size = settings.transferSize;
  const progress =
    phase === 'verify' ? new PhaseProgress('verify', length, settings.label, settings.onProgress) : undefined;
  await recoverToIdle(io, ctx, DFUSE_READY);
  let block = 0;
  let pointerSet = false;
  for (let offset = 0; offset < length; offset += size) {
    if (!pointerSet || block === 0xffff - 2) {
      await setAddressPointer(io, ctx, address + offset, settings.busyLimitMs);
      await io.abort(ctx);
      pointerSet = true;
      block = 0;
    }
    const want = Math.min(size, length - offset);
    const got = await io.upload(2 + block, want, ctx);
    if (got.length !== want)
      throw dfuFailure(
        'DFU_SHORT_READ',
        `The device returned ${got.length} of ${want} bytes reading ${hex(address + offset)}.`,
        { details: { address: hex(address + offset), expected: want, received: got.length } },
      );
    block++;
    progress?.advance(got.length);
    if (!sink(got, offset)) break;
  }
  await io.abort(ctx);
};

/** Reads `length` bytes at `address` with DfuSe UPLOAD. */
export const uploadDfuse = async (
  io: DfuRequests,
  ctx: OpContext,
  address: number,
  length: number,
  settings: TransferSettings,
): Promise<Uint8Array> => {
  const out = new Uint8Array(length);
  await uploadDfuseBlocks(io, ctx, address, length, settings, 'download', (b, offset) => {
    out.set(b, offset);
    return true;
  });
  return out;
};

const compare = (expected: Uint8Array, block: Uint8Array, offset: number): number => {
  for (let i = 0; i < block.length; i++) if (block[i] !== expected[offset + i]) return i;
  return -1;
};

/** Reads the image back and compares as blocks arrive; stops at the first difference. */
export const verifyDfuse = async (
  io: DfuRequests,
  ctx: OpContext,
  address: number,
  data: Uint8Array,
  settings: TransferSettings,
): Promise<VerifyResult> => {
  let result: VerifyResult = { ok: true };
  await uploadDfuseBlocks(io, ctx, address, data.length, settings, 'verify', (block, offset) => {
    const at = compare(data, block, offset);
    if (at < 0) return true;
    result = {
      ok: false,
      mismatchAddress: address + offset + at,
      expected: data[offset + at] ?? 0,
      actual: block[at] ?? 0,
    };
    return false;
  });
  return result;
};

/**
 * Plain DFU 1.1 upload (§6.2): blocks from 0, from the start of the alt's memory, until a short
 * block says there is no more.
 */
export const uploadPlain = async (
  io: DfuRequests,
  ctx: OpContext,
  length: number,
  settings: TransferSettings,
  phase: 'verify' | undefined,
): Promise<Uint8Array> => {
  await recoverToIdle(io, ctx);
  const size = settings.transferSize;
  const progress = phase ? new PhaseProgress(phase, length, settings.label, settings.onProgress) : undefined;
  const out = new Uint8Array(length);
  let offset = 0;
  for (let block = 0; offset < length; block++) {
    const want = Math.min(size, length - offset);
    const got = await io.upload(block & 0xffff, want, ctx);
    out.set(got.subarray(0, Math.min(got.length, length - offset)), offset);
    offset += got.length;
    progress?.advance(got.length);
    if (got.length < want) break;
  }
  // A full-length read leaves the device in dfuUPLOAD-IDLE; a short one already ended the upload.
  const st = await io.getStatus(ctx);
  if (st.state !== DfuState.dfuIDLE) await io.abort(ctx);
  if (offset < length)
    throw dfuFailure('DFU_SHORT_READ', `The device returned ${offset} of ${length} bytes.`, {
      details: { expected: length, received: offset },
    });
  return out;
};

export const verifyPlain = async (
  io: DfuRequests,
  ctx: OpContext,
  data: Uint8Array,
  settings: TransferSettings,
): Promise<VerifyResult> => {
  const back = await uploadPlain(io, ctx, data.length, settings, 'verify');
  const at = compare(data, back, 0);
  return at < 0
    ? { ok: true }
    : { ok: false, mismatchAddress: at, expected: data[at] ?? 0, actual: back[at] ?? 0 };
};

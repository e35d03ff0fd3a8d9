import { DfuState } from './constants';
import type { OpContext } from './context';
import { eraseSector, setAddressPointer } from './dfuse';
import type { MemoryLayout } from './memory-layout';
import { sectorsFor } from './memory-layout';
import { PhaseProgress, type ProgressListener } from './progress';
import type { DfuRequests } from './requests';
import { pollUntil } from './state';

export interface TransferSettings {
  readonly transferSize: number;
  readonly busyLimitMs?: number | undefined;
  readonly label?: string | undefined;
  readonly onProgress?: ProgressListener | undefined;
}

/** wValue is 16 bits; block numbers start at 2. Re-set the pointer before they would wrap. */
const MAX_BLOCKS_PER_POINTER = 0xffff - 2;

/**
 * Erases exactly the sectors [address, address+length) touches, with DfuSe ERASE (0x41), so data
 * outside the image (other modules, settings) survives. Writability was checked by the caller
 * before anything was sent.
 */
export const eraseRange = async (
  io: DfuRequests,
  ctx: OpContext,
  layout: MemoryLayout,
  address: number,
  length: number,
  settings: Omit<TransferSettings, 'transferSize'>,
): Promise<void> => {
  const sectors = sectorsFor(layout, address, length);
  const total = sectors.reduce((n, s) => n + s.size, 0);
  const progress = new PhaseProgress('erase', total, settings.label, settings.onProgress);
  for (const sector of sectors) {
    await eraseSector(io, ctx, sector.address, settings.busyLimitMs);
    progress.advance(sector.size);
  }
};

/**
 * DfuSe download (AN3156 §6.3): SET_ADDRESS once, then blocks with wValue = 2 + n, which the device
 * writes at pointer + n × wTransferSize. Halves the request count against setting the pointer
 * before every block (what particle-usb does), and each request costs at least a USB frame.
 */
export const downloadDfuse = async (
  io: DfuRequests,
  ctx: OpContext,
  address: number,
  data: Uint8Array,
  settings: TransferSettings,
): Promise<void> => {
  const size = settings.transferSize;
  const progress = new PhaseProgress('download', data.length, settings.label, settings.onProgress);
  let block = 0;
  for (let offset = 0; offset < data.length; offset += size) {
    if (block % MAX_BLOCKS_PER_POINTER === 0) {
      await setAddressPointer(io, ctx, address + offset, settings.busyLimitMs);
      block = 0;
    }
    const chunk = data.subarray(offset, Math.min(offset + size, data.length));
    await io.dnload(2 + block, chunk, ctx);
    await pollUntil(io, ctx, {
      operation: 'download',
      address: address + offset,
      until: [DfuState.dfuDNLOAD_IDLE],
      busyLimitMs: settings.busyLimitMs,
    });
    block++;
    progress.advance(chunk.length);
  }
};

/**
 * Plain DFU 1.1 download (§6.1.1): blocks numbered from 0, the device decides where they go; then
 * the zero-length DNLOAD that ends the transfer (legal only in dfuDNLOAD-IDLE) and manifestation.
 * A manifestation-tolerant device comes back to dfuIDLE, where it can be read back; others wait
 * for a USB reset (dfuMANIFEST-WAIT-RESET).
 */
export const downloadPlain = async (
  io: DfuRequests,
  ctx: OpContext,
  data: Uint8Array,
  settings: TransferSettings,
): Promise<void> => {
  const size = settings.transferSize;
  const progress = new PhaseProgress('download', data.length, settings.label, settings.onProgress);
  let block = 0;
  for (let offset = 0; offset < data.length; offset += size) {
    const chunk = data.subarray(offset, Math.min(offset + size, data.length));
    await io.dnload(block & 0xffff, chunk, ctx);
    await pollUntil(io, ctx, {
      operation: 'download',
      address: offset,
      until: [DfuState.dfuDNLOAD_IDLE],
      busyLimitMs: settings.busyLimitMs,
    });
    block++;
    progress.advance(chunk.length);
  }
  await io.dnload(block & 0xffff, undefined, ctx);
  await pollUntil(io, ctx, {
    operation: 'manifestation',
    until: [DfuState.dfuIDLE, DfuState.dfuMANIFEST_WAIT_RESET],
    busyLimitMs: settings.busyLimitMs,
  });
};

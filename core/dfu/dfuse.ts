import { DfuState, DfuseCommand } from './constants';
import type { OpContext } from './context';
import type { DfuRequests } from './requests';
import { pollUntil } from './state';

/**
 * ST DfuSe commands (AN3156 §6): a DNLOAD with wValue=0 whose data is a command byte and an
 * optional little-endian 32-bit address. The device executes it during the following GETSTATUS
 * (dfuDNBUSY) and ends in dfuDNLOAD-IDLE.
 */
export const encodeDfuseCommand = (command: number, address?: number): Uint8Array => {
  if (address === undefined) return Uint8Array.of(command);
  const b = new Uint8Array(5);
  b[0] = command;
  new DataView(b.buffer).setUint32(1, address >>> 0, true);
  return b;
};

export const dfuseCommand = async (
  io: DfuRequests,
  ctx: OpContext,
  command: number,
  address: number | undefined,
  operation: string,
  busyLimitMs?: number,
): Promise<void> => {
  await io.dnload(0, encodeDfuseCommand(command, address), ctx);
  await pollUntil(io, ctx, { operation, address, until: [DfuState.dfuDNLOAD_IDLE], busyLimitMs });
};

export const setAddressPointer = (io: DfuRequests, ctx: OpContext, address: number, busyLimitMs?: number) =>
  dfuseCommand(io, ctx, DfuseCommand.SET_ADDRESS, address, 'set address', busyLimitMs);

export const eraseSector = (io: DfuRequests, ctx: OpContext, address: number, busyLimitMs?: number) =>
  dfuseCommand(io, ctx, DfuseCommand.ERASE, address, 'erase', busyLimitMs);

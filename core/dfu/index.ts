/*
 * The DFU 1.1 + DfuSe engine. It sees only the UsbTransport seam (core/usb/transport.ts), so the
 * same code drives real devices (core/usb/node-usb.ts) and simulated ones (core/sim).
 */
export { BCD_DFUSE, DfuRequest, DfuState, DfuseCommand, stateName, statusName } from './constants';
export type { OperationOptions } from './context';
export { type DfuErrorCode, hex } from './errors';
export { type FlashResult, type FlashTarget, flashDevice } from './flash';
export type { LeaveResult } from './leave';
export {
  type MemoryLayout,
  type MemorySegment,
  parseMemoryLayout,
  sectorsFor,
  segmentAt,
  segmentsFor,
} from './memory-layout';
export type { DfuPhase, DfuProgress, ProgressListener } from './progress';
export { type DfuStatus, parseStatus } from './requests';
export { type DfuAlt, type DfuOpenOptions, DfuSession, type PhaseOptions } from './session';
export type { VerifyResult } from './upload';
export {
  type FlashImage,
  type ImageReport,
  type PhaseTimings,
  type WriteFailure,
  type WriteOptions,
  type WriteReport,
  type WriteResult,
  writeImages,
} from './write-images';

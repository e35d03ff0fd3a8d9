import { LsFailure, toLsError } from '../errors/result';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import { type DfuOpenOptions, DfuSession } from './session';
import { type FlashImage, type WriteOptions, type WriteResult, writeImages } from './write-images';

export interface FlashTarget {
  readonly transport: UsbTransport;
  readonly device: UsbDeviceInfo;
}

export type FlashResult = WriteResult;

const emptyReport = () => ({
  images: [],
  timings: { eraseMs: 0, downloadMs: 0, verifyMs: 0, leaveMs: 0, totalMs: 0 },
  bytes: 0,
  verified: false,
  left: false,
});

/**
 * Opens one device in DFU mode, writes the plan with verify, leaves DFU and closes the handle,
 * whatever happens. Never throws: failures come back as named errors with what got done.
 */
export const flashDevice = async (
  target: FlashTarget,
  plan: readonly FlashImage[],
  options: WriteOptions & DfuOpenOptions = {},
): Promise<FlashResult> => {
  let session: DfuSession | undefined;
  try {
    const handle = await target.transport.open(target.device, { signal: options.signal });
    try {
      session = await DfuSession.open(handle, options);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
    return await writeImages(session, plan, options);
  } catch (e) {
    const error = e instanceof LsFailure ? e.error : toLsError(e);
    return { ok: false, error: { ...error, report: emptyReport() } };
  } finally {
    await session?.close();
  }
};

import { LsFailure } from '../errors/result';
import { usbFailure } from '../usb/errors';
import type { ControlSetup, UsbDeviceHandle } from '../usb/transport';
import { DfuRequest } from './constants';
import type { OpContext } from './context';
import { dfuFailure } from './errors';

/** The six bytes of DFU_GETSTATUS (DFU 1.1 §6.1.2). */
export interface DfuStatus {
  readonly status: number;
  /** bwPollTimeout: how long the host must wait before the next GETSTATUS. */
  readonly pollTimeoutMs: number;
  readonly state: number;
  readonly iString: number;
}

export const parseStatus = (b: Uint8Array): DfuStatus => {
  if (b.length < 6)
    throw dfuFailure('DFU_BAD_STATUS', `The device answered GETSTATUS with ${b.length} bytes instead of 6.`, {
      details: { length: b.length },
    });
  return {
    status: b[0] ?? 0,
    pollTimeoutMs: (b[1] ?? 0) | ((b[2] ?? 0) << 8) | ((b[3] ?? 0) << 16),
    state: b[4] ?? 0,
    iString: b[5] ?? 0,
  };
};

/**
 * The DFU class requests (DFU 1.1 §3): bmRequestType 0x21 out / 0xA1 in, wIndex = interface.
 * Counts requests so tests and benchmarks can compare protocol efficiency.
 */
export class DfuRequests {
  readonly handle: UsbDeviceHandle;
  readonly interfaceNumber: number;
  /**
   * RTL872x firmware never completes an OUT request without a data stage, so ABORT, CLRSTATUS and
   * DETACH carry one ignored byte there. A DNLOAD is never padded: its length is its meaning (a
   * 1-byte DNLOAD is a data block, zero is "leave"), and Particle's own device constants list the
   * quirk for the normal-mode IDs only, not for DFU mode.
   */
  readonly zeroLengthOutNeedsByte: boolean;
  requestCount = 0;

  constructor(handle: UsbDeviceHandle, interfaceNumber: number, zeroLengthOutNeedsByte: boolean) {
    this.handle = handle;
    this.interfaceNumber = interfaceNumber;
    this.zeroLengthOutNeedsByte = zeroLengthOutNeedsByte;
  }

  private setup(request: number, value: number): ControlSetup {
    return { requestType: 'class', recipient: 'interface', request, value, index: this.interfaceNumber };
  }

  private async out(
    request: number,
    value: number,
    data: Uint8Array | undefined,
    ctx: OpContext,
  ): Promise<void> {
    ctx.throwIfAborted();
    const pad = this.zeroLengthOutNeedsByte && request !== DfuRequest.DNLOAD;
    const payload = data && data.length > 0 ? data : pad ? new Uint8Array(1) : undefined;
    this.requestCount++;
    try {
      await this.handle.controlOut(this.setup(request, value), payload, ctx.transferOptions());
    } catch (e) {
      throw this.wrap(e, ctx);
    }
  }

  private async in(request: number, value: number, length: number, ctx: OpContext): Promise<Uint8Array> {
    ctx.throwIfAborted();
    this.requestCount++;
    try {
      return await this.handle.controlIn(this.setup(request, value), length, ctx.transferOptions());
    } catch (e) {
      throw this.wrap(e, ctx);
    }
  }

  private wrap(e: unknown, ctx: OpContext): LsFailure {
    if (ctx.signal.aborted) return ctx.abortFailure();
    if (e instanceof LsFailure) return e;
    return usbFailure('USB_IO', e instanceof Error ? e.message : String(e));
  }

  dnload(block: number, data: Uint8Array | undefined, ctx: OpContext): Promise<void> {
    return this.out(DfuRequest.DNLOAD, block, data, ctx);
  }

  upload(block: number, length: number, ctx: OpContext): Promise<Uint8Array> {
    return this.in(DfuRequest.UPLOAD, block, length, ctx);
  }

  async getStatus(ctx: OpContext): Promise<DfuStatus> {
    return parseStatus(await this.in(DfuRequest.GETSTATUS, 0, 6, ctx));
  }

  async getState(ctx: OpContext): Promise<number> {
    const b = await this.in(DfuRequest.GETSTATE, 0, 1, ctx);
    return b[0] ?? -1;
  }

  clrStatus(ctx: OpContext): Promise<void> {
    return this.out(DfuRequest.CLRSTATUS, 0, undefined, ctx);
  }

  abort(ctx: OpContext): Promise<void> {
    return this.out(DfuRequest.ABORT, 0, undefined, ctx);
  }

  detach(timeoutMs: number, ctx: OpContext): Promise<void> {
    return this.out(DfuRequest.DETACH, timeoutMs, undefined, ctx);
  }
}

import { type LsError, LsFailure, toLsError } from '../errors/result';
import { platformByUsbId } from '../platforms';
import {
  type DfuFunctionalDescriptor,
  type InterfaceDescriptor,
  readConfigurationDescriptor,
  readStringDescriptor,
} from '../usb/descriptors';
import { usbFailure } from '../usb/errors';
import type { UsbDeviceHandle } from '../usb/transport';
import { BCD_DFUSE, DFU_INTERFACE_CLASS, DFU_INTERFACE_SUBCLASS } from './constants';
import { DEFAULT_TRANSFER_TIMEOUT_MS, OpContext, type OperationOptions, withContext } from './context';
import { downloadDfuse, downloadPlain, eraseRange } from './download';
import { dfuFailure, hex } from './errors';
import { type LeaveResult, leaveDfuse, leavePlain } from './leave';
import { type MemoryLayout, parseMemoryLayout, segmentsFor } from './memory-layout';
import type { ProgressListener } from './progress';
import { DfuRequests } from './requests';
import { DEFAULT_BUSY_LIMIT_MS, DFUSE_READY, recoverToIdle } from './state';
import { uploadDfuse, uploadPlain, type VerifyResult, verifyDfuse, verifyPlain } from './upload';

export interface DfuAlt {
  readonly alt: number;
  /** The alt's iInterface string, e.g. `@Internal Flash /0x08000000/...`. */
  readonly name: string;
  /** Parsed DfuSe layout; undefined for plain DFU alts whose name is not a layout. */
  readonly layout: MemoryLayout | undefined;
}

export interface DfuOpenOptions extends OperationOptions {
  /** Defaults to the platform table's flag for the device's VID/PID (RTL872x: true). */
  readonly zeroLengthOutNeedsByte?: boolean;
  /** Gen 2 Particle quirk; defaults to the platform table. */
  readonly leaveStaysInDnloadIdle?: boolean;
  readonly transferTimeoutMs?: number;
  /** How long one request may keep the device busy before it counts as stuck. */
  readonly busyLimitMs?: number;
}

export interface PhaseOptions extends OperationOptions {
  readonly label?: string;
  readonly onProgress?: ProgressListener;
}

/** Default overall limits per operation, far above what a real device needs. */
const TIMEOUTS = {
  open: 10_000,
  idle: 10_000,
  erase: 120_000,
  download: 300_000,
  upload: 300_000,
  leave: 10_000,
};

/** Transport failures after which the device is gone and no recovery request can reach it. */
const GONE = new Set(['USB_DISCONNECTED', 'USB_NOT_FOUND']);

/**
 * An opened DFU interface: the functional descriptor, the alt settings with their memory layouts,
 * and the operations (erase, download, upload/verify, leave). Each operation has an overall timeout
 * and honours an AbortSignal; when one fails, the session tries to put the device back in dfuIDLE
 * so the caller can retry on the same handle (or re-open it after a disconnect).
 */
export class DfuSession {
  readonly handle: UsbDeviceHandle;
  readonly interfaceNumber: number;
  readonly functional: DfuFunctionalDescriptor;
  readonly alts: readonly DfuAlt[];
  readonly isDfuse: boolean;
  readonly leaveStaysInDnloadIdle: boolean;
  readonly io: DfuRequests;
  private readonly transferTimeoutMs: number;
  private readonly busyLimitMs: number;
  private current: DfuAlt;

  private constructor(init: {
    handle: UsbDeviceHandle;
    interfaceNumber: number;
    functional: DfuFunctionalDescriptor;
    alts: DfuAlt[];
    zeroLengthOutNeedsByte: boolean;
    leaveStaysInDnloadIdle: boolean;
    transferTimeoutMs: number;
    busyLimitMs: number;
  }) {
    this.handle = init.handle;
    this.interfaceNumber = init.interfaceNumber;
    this.functional = init.functional;
    this.alts = init.alts;
    this.isDfuse = init.functional.bcdDFU === BCD_DFUSE;
    this.leaveStaysInDnloadIdle = init.leaveStaysInDnloadIdle;
    this.io = new DfuRequests(init.handle, init.interfaceNumber, init.zeroLengthOutNeedsByte);
    this.transferTimeoutMs = init.transferTimeoutMs;
    this.busyLimitMs = init.busyLimitMs;
    this.current = init.alts[0] as DfuAlt;
  }

  /**
   * Reads the configuration descriptor, finds the DFU-mode interface (class 0xFE, subclass 1), its
   * functional descriptor and each alt's layout string, then claims it and selects alt 0.
   */
  static async open(handle: UsbDeviceHandle, options: DfuOpenOptions = {}): Promise<DfuSession> {
    const transferTimeoutMs = options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
    return withContext(
      'opening the DFU interface',
      { ...options, transferTimeoutMs },
      TIMEOUTS.open,
      async (ctx) => {
        const config = await readConfigurationDescriptor(handle, ctx.transferOptions());
        const dfuIfaces = config.interfaces.filter(
          (i) => i.interfaceClass === DFU_INTERFACE_CLASS && i.interfaceSubClass === DFU_INTERFACE_SUBCLASS,
        );
        const first = dfuIfaces[0];
        if (!first)
          throw dfuFailure('DFU_NO_INTERFACE', 'The device has no DFU interface: it is not in DFU mode.', {
            remedy: 'Put the device in DFU mode (blinking yellow) and retry.',
            details: { vendorId: handle.info.vendorId, productId: handle.info.productId },
          });
        const interfaceNumber = first.interfaceNumber;
        const mine = dfuIfaces.filter((i) => i.interfaceNumber === interfaceNumber);
        // DFU 1.1 §4.2.4: one functional descriptor per interface, after any of its alt settings.
        const functional = mine.find((i) => i.dfuFunctional)?.dfuFunctional;
        if (!functional)
          throw dfuFailure('DFU_NO_INTERFACE', 'The DFU interface has no DFU functional descriptor.', {
            remedy: 'The device bootloader is not DFU 1.1 compliant; update it or use another device.',
          });
        const alts: DfuAlt[] = [];
        for (const i of mine) alts.push(await readAlt(handle, i, ctx));
        const known = platformByUsbId(handle.info.vendorId, handle.info.productId)?.platform;
        const session = new DfuSession({
          handle,
          interfaceNumber,
          functional,
          alts,
          zeroLengthOutNeedsByte:
            options.zeroLengthOutNeedsByte ?? known?.dfu.zeroLengthOutNeedsByte ?? false,
          leaveStaysInDnloadIdle:
            options.leaveStaysInDnloadIdle ?? known?.dfu.leaveStaysInDnloadIdle ?? false,
          transferTimeoutMs,
          busyLimitMs: options.busyLimitMs ?? DEFAULT_BUSY_LIMIT_MS,
        });
        await handle.claimInterface(interfaceNumber);
        await handle.selectAlternate(interfaceNumber, session.current.alt);
        return session;
      },
    );
  }

  get alt(): DfuAlt {
    return this.current;
  }

  get transferSize(): number {
    return this.functional.transferSize;
  }

  /** Selects an alt setting by number, or by name (`Internal Flash`, matched case-insensitively). */
  async selectAlt(which: number | string): Promise<DfuAlt> {
    const alt = this.findAlt(which);
    if (alt.alt !== this.current.alt) {
      await this.handle.selectAlternate(this.interfaceNumber, alt.alt);
      this.current = alt;
    }
    return alt;
  }

  findAlt(which: number | string): DfuAlt {
    const wanted = typeof which === 'string' ? which.trim().toLowerCase() : undefined;
    const alt = this.alts.find((a) =>
      wanted === undefined
        ? a.alt === which
        : (a.layout?.name.toLowerCase() ?? a.name.toLowerCase()) === wanted ||
          a.name.toLowerCase() === wanted,
    );
    if (!alt)
      throw dfuFailure('DFU_NO_ALT', `The device has no DFU alt setting ${JSON.stringify(which)}.`, {
        details: { available: this.alts.map((a) => ({ alt: a.alt, name: a.name })) },
      });
    return alt;
  }

  /**
   * Checks that [address, address+length) lies in the current alt's layout and is writable and
   * erasable, before anything is sent: a read-only segment (bootloader MBR, OTP) is refused here.
   */
  checkWritable(address: number, length: number, alt: DfuAlt = this.current): void {
    if (!this.isDfuse || !alt.layout) return;
    const segments = segmentsFor(alt.layout, address, length);
    if (!segments)
      throw dfuFailure(
        'DFU_OUT_OF_RANGE',
        `${length} bytes at ${hex(address)} do not fit the device's "${alt.layout.name}" memory.`,
        {
          remedy: 'The firmware file is for another platform or memory; check the file.',
          details: { address: hex(address), length, alt: alt.alt },
        },
      );
    const locked = segments.find((s) => !s.writable || !s.erasable);
    if (locked)
      throw dfuFailure(
        'DFU_READ_ONLY',
        `${hex(address)}–${hex(address + length)} touches read-only memory (${hex(locked.start)}–${hex(locked.end)}).`,
        {
          remedy: 'This region is protected on the device; the firmware file targets the wrong address.',
          details: {
            address: hex(address),
            length,
            segmentStart: hex(locked.start),
            segmentEnd: hex(locked.end),
          },
        },
      );
  }

  private settings(options: PhaseOptions) {
    return {
      transferSize: this.functional.transferSize,
      busyLimitMs: this.busyLimitMs,
      label: options.label,
      onProgress: options.onProgress,
    };
  }

  /**
   * Runs one operation; on failure (other than the device being gone) puts the device back in
   * dfuIDLE with a fresh short budget, so the error leaves a usable device behind.
   */
  private async run<T>(
    name: string,
    defaultTimeoutMs: number,
    options: OperationOptions,
    body: (ctx: OpContext) => Promise<T>,
  ): Promise<T> {
    try {
      return await withContext(
        name,
        { ...options, transferTimeoutMs: this.transferTimeoutMs },
        defaultTimeoutMs,
        body,
      );
    } catch (e) {
      if (e instanceof LsFailure && GONE.has(e.error.code)) throw e;
      const recovery = await this.recoverOrWhy();
      // A cable pulled mid-request can STALL the request in flight just before the device leaves
      // the bus; when the recovery then finds it gone, the failure is the disconnect, not a refusal.
      if (e instanceof LsFailure && e.error.code === 'USB_STALL' && recovery && GONE.has(recovery.code))
        throw usbFailure(
          'USB_DISCONNECTED',
          `during ${name}: a request stalled, then the device left the bus`,
          {
            ...(e.error.details ?? {}),
            operation: name,
          },
        );
      throw e;
    }
  }

  /** Best effort: ABORT/CLRSTATUS back to dfuIDLE within two seconds; never throws. */
  async recover(): Promise<boolean> {
    return (await this.recoverOrWhy()) === undefined;
  }

  /** Like `recover`, but says why it failed (undefined when the device is back in dfuIDLE). */
  private async recoverOrWhy(): Promise<LsError | undefined> {
    const ctx = new OpContext('recovery', { timeoutMs: 2000, transferTimeoutMs: 1000 }, 2000);
    try {
      await recoverToIdle(this.io, ctx);
      return undefined;
    } catch (e) {
      return toLsError(e, 'USB_IO');
    } finally {
      ctx.dispose();
    }
  }

  ensureIdle(options: OperationOptions = {}): Promise<void> {
    return this.run('returning to dfuIDLE', TIMEOUTS.idle, options, async (ctx) => {
      await recoverToIdle(this.io, ctx);
    });
  }

  /** Erases exactly the sectors the range covers (DfuSe only; plain DFU devices erase by themselves). */
  erase(address: number, length: number, options: PhaseOptions = {}): Promise<void> {
    this.checkWritable(address, length);
    const layout = this.current.layout;
    if (!this.isDfuse || !layout) return Promise.resolve();
    return this.run('erase', TIMEOUTS.erase, options, async (ctx) => {
      await recoverToIdle(this.io, ctx, DFUSE_READY);
      await eraseRange(this.io, ctx, layout, address, length, this.settings(options));
    });
  }

  /** Writes `data` at `address` (DfuSe) or as the alt's image (plain DFU). Does not erase. */
  download(address: number, data: Uint8Array, options: PhaseOptions = {}): Promise<void> {
    if (!this.functional.attributes.canDownload)
      throw dfuFailure('DFU_NOT_SUPPORTED', 'The device does not accept downloads (bitCanDnload is 0).');
    this.checkWritable(address, data.length);
    return this.run('download', TIMEOUTS.download, options, async (ctx) => {
      await recoverToIdle(this.io, ctx, this.isDfuse ? DFUSE_READY : undefined);
      if (this.isDfuse) await downloadDfuse(this.io, ctx, address, data, this.settings(options));
      else await downloadPlain(this.io, ctx, data, this.settings(options));
    });
  }

  upload(address: number, length: number, options: PhaseOptions = {}): Promise<Uint8Array> {
    this.requireUpload(address, length);
    return this.run('upload', TIMEOUTS.upload, options, (ctx) =>
      this.isDfuse
        ? uploadDfuse(this.io, ctx, address, length, this.settings(options))
        : uploadPlain(this.io, ctx, length, this.settings(options), undefined),
    );
  }

  /** Reads the range back and compares it with `data`; reports the first differing address. */
  verify(address: number, data: Uint8Array, options: PhaseOptions = {}): Promise<VerifyResult> {
    this.requireUpload(address, data.length);
    return this.run('verify', TIMEOUTS.upload, options, (ctx) =>
      this.isDfuse
        ? verifyDfuse(this.io, ctx, address, data, this.settings(options))
        : verifyPlain(this.io, ctx, data, this.settings(options)),
    );
  }

  private requireUpload(address: number, length: number): void {
    if (!this.isDfuse && !this.functional.attributes.manifestationTolerant)
      throw dfuFailure(
        'DFU_NOT_SUPPORTED',
        'This plain DFU device waits for a USB reset after a download, so it cannot be read back.',
        { remedy: 'Flash without verify (--no-verify) on this device.' },
      );
    if (!this.functional.attributes.canUpload)
      throw dfuFailure('DFU_NOT_SUPPORTED', 'The device does not allow reading back (bitCanUpload is 0).', {
        remedy: 'Flash without verify (--no-verify) on this device, or update its bootloader.',
      });
    const layout = this.current.layout;
    if (!this.isDfuse || !layout) return;
    const segments = segmentsFor(layout, address, length);
    if (!segments || segments.some((s) => !s.readable))
      throw dfuFailure('DFU_READ_ONLY', `${hex(address)}–${hex(address + length)} cannot be read back.`, {
        details: { address: hex(address), length },
      });
  }

  /**
   * Leaves DFU mode: the device manifests and resets into its firmware. `jumpAddress` defaults to
   * the start of the alt's memory (the Particle bootloader ignores it; ST's jumps there).
   */
  leave(options: OperationOptions & { jumpAddress?: number } = {}): Promise<LeaveResult> {
    return withContext(
      'leaving DFU mode',
      { ...options, transferTimeoutMs: this.transferTimeoutMs },
      TIMEOUTS.leave,
      (ctx) => {
        if (!this.isDfuse) return leavePlain(this.io, ctx, this.functional.attributes.willDetach);
        const jump = options.jumpAddress ?? this.current.layout?.segments[0]?.start ?? 0;
        return leaveDfuse(this.io, ctx, jump, this.leaveStaysInDnloadIdle);
      },
    );
  }

  /** Releases the interface and closes the handle; never throws (the device may be gone already). */
  async close(): Promise<void> {
    await this.handle.releaseInterface(this.interfaceNumber).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}

const readAlt = async (handle: UsbDeviceHandle, i: InterfaceDescriptor, ctx: OpContext): Promise<DfuAlt> => {
  const name = (await readStringDescriptor(handle, i.iInterface, ctx.transferOptions())) ?? '';
  const parsed = name.startsWith('@') ? parseMemoryLayout(name) : undefined;
  if (parsed && !parsed.ok) throw new LsFailure(parsed.error);
  return { alt: i.alternateSetting, name, layout: parsed?.value };
};

import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { type LsError, LsFailure } from '../../errors/result';
import {
  encodeDescriptorsBlob,
  encodeStringsBlob,
  FFS_EVENT_SIZE,
  type FfsEvent,
  type FfsFunctionDescriptors,
  parseEvents,
} from './blobs';

/*
 * One FunctionFS function's ep0 file, driven with plain reads and writes (the kernel's protocol:
 * Documentation/usb/functionfs.rst and f_fs.c ffs_ep0_read/ffs_ep0_write):
 * - read(n >= 12) with no request pending blocks for events;
 * - after a SETUP event, the data stage is a read (OUT) or a write (IN) of at most wLength bytes;
 *   an OUT request without data is acknowledged by a read, which the kernel clamps to wLength = 0;
 * - I/O in the wrong direction stalls ep0 (the call fails with EL2HLT, which is the success case).
 * Node's fs skips zero-length reads without a syscall, so acks read 1 byte instead (clamped to 0).
 *
 * These calls block a libuv threadpool thread each; the device server runs several devices, so its
 * process is started with a larger UV_THREADPOOL_SIZE (see main.ts).
 */

export type FfsErrorCode = 'FFS_OPEN_FAILED' | 'FFS_DESCRIPTORS_REJECTED' | 'FFS_IO';

const errnoOf = (e: unknown): string | undefined =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

const ffsError = (code: FfsErrorCode, message: string, e: unknown, remedy?: string): LsFailure =>
  new LsFailure({
    code,
    message,
    ...(remedy ? { remedy } : {}),
    details: { errno: errnoOf(e), cause: e instanceof Error ? e.message : String(e) },
  } satisfies LsError);

/** What a request's data stage ended as, from the device's side. */
export type Ep0Outcome = 'done' | 'stalled' | 'cancelled' | 'disconnected';

// libuv has no name for EL2HLT (errno 51), so it arrives as "Unknown system error -51".
const EL2HLT = -51;

const outcomeOf = (e: unknown): Ep0Outcome | undefined => {
  if (e instanceof Error && 'errno' in e && e.errno === EL2HLT) return 'stalled';
  switch (errnoOf(e)) {
    case 'EL2HLT':
      return 'stalled';
    // The host gave up on this request (timeout, new SETUP) before we answered.
    case 'EIDRM':
      return 'cancelled';
    case 'ESHUTDOWN':
    case 'ENODEV':
    case 'ECONNRESET':
      return 'disconnected';
    default:
      return undefined;
  }
};

export class Ep0 {
  private readonly eventBuffer = Buffer.alloc(FFS_EVENT_SIZE * 8);

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
  ) {}

  /** Opens `<mount>/ep0` and writes the function's descriptors and strings. */
  static async open(mount: string, fn: FfsFunctionDescriptors, strings: readonly string[]): Promise<Ep0> {
    const path = join(mount, 'ep0');
    let file: FileHandle;
    try {
      file = await open(path, 'r+');
    } catch (e) {
      throw ffsError(
        'FFS_OPEN_FAILED',
        `Could not open the FunctionFS control file ${path}.`,
        e,
        'Mount FunctionFS there first (mount -t functionfs <name> <dir>) and run as root.',
      );
    }
    try {
      await file.write(encodeDescriptorsBlob(fn), 0, undefined, null);
      await file.write(encodeStringsBlob(strings), 0, undefined, null);
    } catch (e) {
      await file.close().catch(() => undefined);
      throw ffsError(
        'FFS_DESCRIPTORS_REJECTED',
        `The kernel rejected the USB descriptors written to ${path}.`,
        e,
        'FunctionFS accepts the DFU functional descriptor only from Linux 6.10 on; use the rig kernel (Debian 13, 6.12).',
      );
    }
    return new Ep0(file, path);
  }

  /** Blocks until the kernel has events (bind, enable, setup, ...). */
  async events(): Promise<FfsEvent[]> {
    try {
      const { bytesRead } = await this.file.read(this.eventBuffer, 0, this.eventBuffer.length, null);
      return parseEvents(this.eventBuffer.subarray(0, bytesRead));
    } catch (e) {
      throw ffsError('FFS_IO', `Reading events from ${this.path} failed.`, e);
    }
  }

  /** The OUT data stage of the pending request (the status stage is acknowledged with it). */
  async readData(length: number): Promise<{ outcome: Ep0Outcome; data: Uint8Array }> {
    const buffer = Buffer.alloc(length);
    try {
      const { bytesRead } = await this.file.read(buffer, 0, length, null);
      return { outcome: 'done', data: buffer.subarray(0, bytesRead) };
    } catch (e) {
      const outcome = outcomeOf(e);
      if (!outcome)
        throw ffsError('FFS_IO', `Reading a control transfer's data from ${this.path} failed.`, e);
      return { outcome, data: new Uint8Array(0) };
    }
  }

  /** The IN data stage: at most wLength bytes (the caller trims), an empty reply is a ZLP. */
  async writeData(data: Uint8Array): Promise<Ep0Outcome> {
    return this.io(() => this.file.write(data, 0, data.length, null));
  }

  /** Acknowledges an OUT request without a data stage. */
  async ack(): Promise<Ep0Outcome> {
    return this.io(() => this.file.read(Buffer.alloc(1), 0, 1, null));
  }

  /** Stalls the pending request: I/O in the direction opposite to the request's. */
  async stall(deviceToHost: boolean): Promise<Ep0Outcome> {
    const outcome = await this.io(() =>
      deviceToHost
        ? this.file.read(Buffer.alloc(1), 0, 1, null)
        : this.file.write(Buffer.alloc(0), 0, 0, null),
    );
    return outcome === 'done' ? 'stalled' : outcome;
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }

  private async io(op: () => Promise<unknown>): Promise<Ep0Outcome> {
    try {
      await op();
      return 'done';
    } catch (e) {
      const outcome = outcomeOf(e);
      if (!outcome) throw ffsError('FFS_IO', `Control transfer I/O on ${this.path} failed.`, e);
      return outcome;
    }
  }
}

import { createRequire } from 'node:module';
import { LsFailure } from '../../core/errors/result';
import type { ControlSetup, TransferOptions, UsbDeviceHandle, UsbDeviceInfo } from '../../core/usb/transport';

/*
 * A device-side model of Particle's control-request channel for client tests, replying through
 * particle-usb's own encodeReply so the client is checked against the reference encoding, with
 * knobs for each failure the client must name.
 */

const require = createRequire(import.meta.url);
const proto = require('particle-usb/src/usb-protocol.js') as {
  encodeReply(rep: { status: number; id?: number; size?: number; result?: number }): Buffer;
};

export interface FakeBehaviour {
  /** Reply per request type: Device OS result and reply payload. */
  readonly replies?: Record<number, { result?: number; data?: Uint8Array }>;
  /** INIT answers BUSY this many times (stale requests) before it succeeds. */
  busyInits?: number;
  /** INIT STALLs (old Device OS without the channel). */
  readonly stallInit?: boolean;
  /** CHECK answers PENDING this many times before OK. */
  readonly pendingChecks?: number;
  /** INIT with payload answers PENDING (buffer allocation) this many times. */
  readonly pendingAlloc?: number;
  /** CHECK answers NOT_FOUND (request was reset by someone else). */
  readonly notFound?: boolean;
  /** The device drops off the bus at the first CHECK. */
  readonly disconnectOnCheck?: boolean;
  /** CHECK never finishes. */
  readonly forever?: boolean;
  /** INIT answers garbage. */
  readonly malformed?: boolean;
}

export interface Logged {
  readonly dir: 'in' | 'out';
  readonly setup: ControlSetup;
  readonly length: number;
}

export const fakeInfo = (over: Partial<UsbDeviceInfo> = {}): UsbDeviceInfo => ({
  key: 'k1',
  portPath: '1-1.1',
  vendorId: 0x2b04,
  productId: 0xc00d,
  serialNumber: '0123456789abcdef01234567',
  ...over,
});

export class FakeControlDevice implements UsbDeviceHandle {
  readonly log: Logged[] = [];
  readonly payloads = new Map<number, Uint8Array>();
  private nextId = 1;
  private readonly pending = new Map<
    number,
    {
      type: number;
      size: number;
      got: number[];
      checks: number;
      alloc: number;
      reply: Uint8Array;
      sent: number;
    }
  >();
  closed = false;

  constructor(
    readonly behaviour: FakeBehaviour = {},
    readonly info: UsbDeviceInfo = fakeInfo(),
  ) {}

  async controlIn(setup: ControlSetup, length: number, _o: TransferOptions): Promise<Uint8Array> {
    this.log.push({ dir: 'in', setup, length });
    const b = this.behaviour;
    const reply = (r: { status: number; id?: number; size?: number; result?: number }): Uint8Array =>
      new Uint8Array(proto.encodeReply(r));
    switch (setup.request) {
      case 1: {
        if (b.stallInit) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
        if (b.malformed) return new Uint8Array([0, 0]);
        if (b.busyInits && b.busyInits > 0) {
          b.busyInits--;
          return reply({ status: 3 });
        }
        const id = this.nextId++;
        const r = b.replies?.[setup.index] ?? {};
        this.pending.set(id, {
          type: setup.index,
          size: setup.value,
          got: [],
          checks: 0,
          alloc: setup.value > 0 ? (b.pendingAlloc ?? 0) : 0,
          reply: r.data ?? new Uint8Array(0),
          sent: 0,
        });
        const p = this.pending.get(id);
        return reply({ status: p && p.alloc > 0 ? 2 : 0, id });
      }
      case 2: {
        if (b.disconnectOnCheck) throw new LsFailure({ code: 'USB_DISCONNECTED', message: 'gone' });
        const p = this.pending.get(setup.index);
        if (!p || b.notFound) return reply({ status: 5 });
        if (p.alloc > 0) {
          p.alloc--;
          return reply({ status: p.alloc > 0 ? 2 : 0 });
        }
        if (b.forever || p.checks++ < (b.pendingChecks ?? 0)) return reply({ status: 2 });
        const r = b.replies?.[p.type] ?? {};
        this.payloads.set(p.type, Uint8Array.from(p.got));
        return reply({
          status: 0,
          result: r.result ?? 0,
          ...(p.reply.length ? { size: p.reply.length } : {}),
        });
      }
      case 4: {
        const p = this.pending.get(setup.index);
        if (!p) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
        const chunk = p.reply.subarray(p.sent, p.sent + length);
        p.sent += chunk.length;
        return chunk;
      }
      case 5: {
        if (setup.index === 0) this.pending.clear();
        else this.pending.delete(setup.index);
        return reply({ status: 0 });
      }
      default:
        throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
    }
  }

  async controlOut(setup: ControlSetup, data: Uint8Array | undefined, _o: TransferOptions): Promise<void> {
    this.log.push({ dir: 'out', setup, length: data?.length ?? 0 });
    if (setup.request !== 3) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
    const p = this.pending.get(setup.index);
    if (!p) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
    p.got.push(...(data ?? []));
  }

  async claimInterface(): Promise<void> {}
  async releaseInterface(): Promise<void> {}
  async selectAlternate(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

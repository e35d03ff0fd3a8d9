import { describe, expect, it } from 'vitest';
import { DfuSession, writeImages } from '../../core/dfu';
import { LsFailure } from '../../core/errors/result';
import type { ControlSetup, UsbDeviceHandle } from '../../core/usb/transport';
import { pattern } from './helpers';

/**
 * A plain DFU 1.1 device (no DfuSe): blocks numbered from 0 go to consecutive memory, UPLOAD reads
 * from the start, a short UPLOAD ends the read, a zero-length DNLOAD manifests. The simulator only
 * models Particle (DfuSe) bootloaders, so this small model covers the plain path (DFU 1.1 §6–7).
 */
class PlainDfuDevice {
  readonly memory = new Uint8Array(1000).fill(0xff);
  state = 2;
  status = 0;
  blocks: number[] = [];
  manifested = false;
  private pending: { block: number; data: Uint8Array } | undefined;

  private static string(s: string): Uint8Array {
    const b = new Uint8Array(2 + s.length * 2);
    b[0] = b.length;
    b[1] = 3;
    for (let i = 0; i < s.length; i++) b[2 + i * 2] = s.charCodeAt(i);
    return b;
  }

  private config(): Uint8Array {
    // bmAttributes 0x07: can download, can upload, manifestation tolerant; wTransferSize 64.
    const body = [9, 4, 0, 0, 0, 0xfe, 0x01, 0x02, 4, 9, 0x21, 0x07, 0xff, 0x00, 64, 0x00, 0x10, 0x01];
    return Uint8Array.from([9, 2, 9 + body.length, 0, 1, 1, 0, 0x80, 50, ...body]);
  }

  private error(): never {
    this.state = 10;
    this.status = 15;
    throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
  }

  handle(): UsbDeviceHandle {
    const info = {
      key: 'plain',
      portPath: '9-9',
      vendorId: 0x1209,
      productId: 0x0001,
      serialNumber: 'plain',
    };
    return {
      info,
      controlIn: async (s: ControlSetup, length: number) => {
        if (s.requestType === 'standard') {
          const type = s.value >> 8;
          if (type === 2) return this.config().subarray(0, length);
          if (type === 3) return PlainDfuDevice.string('Plain flash');
          return new Uint8Array(0);
        }
        if (s.request === 3) {
          if (this.state === 3 && this.pending) {
            this.memory.set(this.pending.data, this.pending.block * 64);
            this.pending = undefined;
            this.state = 5;
          } else if (this.state === 6) {
            this.manifested = true;
            this.state = 2; // manifestation tolerant: back to dfuIDLE
          }
          return Uint8Array.of(this.status, 0, 0, 0, this.state, 0);
        }
        if (s.request === 2) {
          if (this.state !== 2 && this.state !== 9) this.error();
          const start = s.value * 64;
          const out = this.memory.slice(start, Math.min(start + length, this.memory.length));
          this.state = out.length < length ? 2 : 9;
          return out;
        }
        return this.error();
      },
      controlOut: async (s: ControlSetup, data: Uint8Array | undefined) => {
        if (s.request === 1) {
          if (this.state !== 2 && this.state !== 5) this.error();
          if (!data || data.length === 0) {
            // DFU 1.1 §A.2: a zero-length DNLOAD is only defined in dfuDNLOAD-IDLE.
            if (this.state !== 5) this.error();
            this.state = 6;
            return;
          }
          this.blocks.push(s.value);
          this.pending = { block: s.value, data: data.slice() };
          this.state = 3;
          return;
        }
        if (s.request === 6) {
          if (this.state === 10) this.error();
          this.state = 2;
          return;
        }
        if (s.request === 4) {
          if (this.state !== 10) this.error();
          this.state = 2;
          this.status = 0;
          return;
        }
        this.error();
      },
      claimInterface: async () => undefined,
      releaseInterface: async () => undefined,
      selectAlternate: async () => undefined,
      close: async () => undefined,
    };
  }
}

describe('plain DFU 1.1 (no DfuSe)', () => {
  it('opens a bcdDFU 1.1 device whose alt name is not a layout', async () => {
    const session = await DfuSession.open(new PlainDfuDevice().handle());
    expect(session.isDfuse).toBe(false);
    expect(session.functional.bcdDFU).toBe(0x0110);
    expect(session.alts[0]).toMatchObject({ alt: 0, name: 'Plain flash', layout: undefined });
  });

  it('downloads blocks numbered from 0, ends with a zero-length DNLOAD, then reads back from the start', async () => {
    const device = new PlainDfuDevice();
    const session = await DfuSession.open(device.handle());
    const data = pattern(300, 5);
    const r = await writeImages(session, [{ label: 'image', alt: 0, address: 0, data }]);
    if (!r.ok) throw new Error(r.error.message);
    expect(device.blocks).toEqual([0, 1, 2, 3, 4]);
    expect(device.memory.subarray(0, 300)).toEqual(data);
    expect(r.value.verified).toBe(true);
    expect(device.manifested).toBe(true);
  });

  it('reads the whole memory with upload, ending at the short block', async () => {
    const device = new PlainDfuDevice();
    device.memory.set(pattern(1000, 9));
    const session = await DfuSession.open(device.handle());
    expect(await session.upload(0, 1000)).toEqual(device.memory);
    await expect(session.upload(0, 1200)).rejects.toMatchObject({ error: { code: 'DFU_SHORT_READ' } });
  });

  it('reports the first differing byte when readback does not match', async () => {
    const device = new PlainDfuDevice();
    const session = await DfuSession.open(device.handle());
    const data = pattern(200, 3);
    await session.download(0, data);
    expect(device.manifested).toBe(true);
    device.memory[133] = (device.memory[133] ?? 0) ^ 0x10;
    const v = await session.verify(0, data);
    expect(v).toMatchObject({ ok: false, mismatchAddress: 133 });
  });
});

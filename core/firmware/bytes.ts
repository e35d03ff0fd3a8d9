import { createHash } from 'node:crypto';

/** Little-endian readers that never throw: callers check bounds first and get 0 past the end. */
export const u8 = (b: Uint8Array, o: number): number => b[o] ?? 0;
export const u16le = (b: Uint8Array, o: number): number => u8(b, o) | (u8(b, o + 1) << 8);
export const u32le = (b: Uint8Array, o: number): number =>
  (u8(b, o) | (u8(b, o + 1) << 8) | (u8(b, o + 2) << 16) | (u8(b, o + 3) << 24)) >>> 0;
export const u32be = (b: Uint8Array, o: number): number =>
  ((u8(b, o) << 24) | (u8(b, o + 1) << 16) | (u8(b, o + 2) << 8) | u8(b, o + 3)) >>> 0;

export const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Addresses in --json the way Particle's parser prints them: `0x` + lower-case hex, no padding. */
export const jsonAddress = (n: number): string => `0x${(n >>> 0).toString(16)}`;

export class ByteWriter {
  private readonly view: DataView;
  readonly bytes: Uint8Array;
  constructor(size: number, fill = 0) {
    this.bytes = new Uint8Array(size).fill(fill);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(o: number, v: number): void {
    this.view.setUint8(o, v & 0xff);
  }
  u16le(o: number, v: number): void {
    this.view.setUint16(o, v & 0xffff, true);
  }
  u32le(o: number, v: number): void {
    this.view.setUint32(o, v >>> 0, true);
  }
  u32be(o: number, v: number): void {
    this.view.setUint32(o, v >>> 0, false);
  }
  set(o: number, data: Uint8Array): void {
    this.bytes.set(data, o);
  }
}

import { describe, expect, it } from 'vitest';
import {
  countDescriptors,
  encodeDescriptorsBlob,
  encodeStringsBlob,
  FfsEventType,
  FfsFlag,
  parseEvents,
} from '../../../core/sim/functionfs/blobs';

// Tests for core/sim/functionfs/blobs.ts (kept under test/usb-rig/, the rig's own test folder).

const u32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

describe('FunctionFS descriptors blob', () => {
  const iface = Uint8Array.of(9, 4, 0, 0, 0, 0xfe, 1, 2, 1);
  const functional = Uint8Array.of(9, 0x21, 0x0b, 0xff, 0, 0, 0x10, 0x1a, 0x01);
  const descriptors = Uint8Array.from([...iface, ...functional]);

  it('writes the v2 header, the flags and the same descriptors for full and high speed', () => {
    const blob = encodeDescriptorsBlob({ descriptors, count: 2, flags: FfsFlag.ALL_CTRL_RECIP });
    expect(u32(blob, 0)).toBe(3); // FUNCTIONFS_DESCRIPTORS_MAGIC_V2
    expect(u32(blob, 4)).toBe(blob.length);
    expect(u32(blob, 8)).toBe(FfsFlag.HAS_FS_DESC | FfsFlag.HAS_HS_DESC | FfsFlag.ALL_CTRL_RECIP);
    expect([u32(blob, 12), u32(blob, 16)]).toEqual([2, 2]);
    expect(blob.length).toBe(20 + 2 * descriptors.length);
    expect([...blob.subarray(20, 38)]).toEqual([...descriptors]);
    expect([...blob.subarray(38)]).toEqual([...descriptors]);
  });

  it('counts descriptors by bLength and refuses a malformed one', () => {
    expect(countDescriptors(descriptors)).toBe(2);
    expect(() => countDescriptors(Uint8Array.of(9, 4, 0))).toThrow(/malformed/);
    expect(() => countDescriptors(Uint8Array.of(0, 4))).toThrow(/malformed/);
  });
});

describe('FunctionFS strings blob', () => {
  it('lays out one en-US language with NUL-terminated strings', () => {
    const blob = encodeStringsBlob(['ab', 'c']);
    expect(u32(blob, 0)).toBe(2); // FUNCTIONFS_STRINGS_MAGIC
    expect(u32(blob, 4)).toBe(blob.length);
    expect([u32(blob, 8), u32(blob, 12)]).toEqual([2, 1]);
    expect([...blob.subarray(16)]).toEqual([0x09, 0x04, 0x61, 0x62, 0, 0x63, 0]);
  });

  it('has no language at all when there are no strings', () => {
    const blob = encodeStringsBlob([]);
    expect(blob.length).toBe(16);
    expect([u32(blob, 8), u32(blob, 12)]).toEqual([0, 0]);
  });
});

describe('FunctionFS events', () => {
  it('parses SETUP packets and plain events from one read', () => {
    const b = new Uint8Array(24);
    b.set([0xa1, 3, 0x34, 0x12, 0, 0, 6, 0], 0);
    b[8] = FfsEventType.SETUP;
    b[20] = FfsEventType.UNBIND;
    expect(parseEvents(b)).toEqual([
      {
        type: FfsEventType.SETUP,
        setup: { bmRequestType: 0xa1, bRequest: 3, wValue: 0x1234, wIndex: 0, wLength: 6 },
      },
      { type: FfsEventType.UNBIND },
    ]);
  });

  it('refuses a read that is not a whole number of events', () => {
    expect(() => parseEvents(new Uint8Array(13))).toThrow(/multiple of 12/);
  });
});

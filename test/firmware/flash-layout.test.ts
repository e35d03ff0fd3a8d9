import { describe, expect, it } from 'vitest';
import { parseLayout, unwritablePart } from '../../core/firmware/flash-layout';
import { platformById } from '../../core/platforms';

const platform = (id: number) => {
  const p = platformById(id);
  if (!p) throw new Error(`no platform ${id}`);
  return p;
};

describe('flash layout', () => {
  it('parses a Gen 2 layout into sectors with their attributes', () => {
    const segs = parseLayout('@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg');
    expect(segs[0]).toEqual({ start: 0x08000000, end: 0x0800c000, writable: false, sectorSize: 0x4000 });
    expect(segs[1]).toEqual({ start: 0x0800c000, end: 0x08010000, writable: true, sectorSize: 0x4000 });
    expect(segs.at(-1)?.sectorSize).toBe(128 * 1024);
    expect(segs.at(-1)?.end).toBe(0x08100000);
  });

  it('returns nothing for a layout it cannot read', () => {
    expect(parseLayout('@Internal Flash /zz/1*4Kg')).toEqual([]);
    expect(parseLayout('@Internal Flash /0x0/1x4Kg')).toEqual([]);
  });

  it('finds the read-only Gen 2 bootloader sectors and the writable user part', () => {
    const photon = platform(6);
    expect(unwritablePart(photon, 0, 0x08000000, 0x08004000)).toEqual({
      start: 0x08000000,
      end: 0x08004000,
      reason: 'read-only',
    });
    expect(unwritablePart(photon, 0, 0x080a0000, 0x080c0000)).toBeUndefined();
  });

  it('reports ranges outside the map, and unknown alt settings', () => {
    const boron = platform(13);
    expect(unwritablePart(boron, 0, 0xfff00, 0x100100)).toEqual({
      start: 0xfff00,
      end: 0x100000,
      reason: 'read-only',
    });
    expect(unwritablePart(platform(32), 0, 0x08700000, 0x08900000)).toEqual({
      start: 0x08800000,
      end: 0x08900000,
      reason: 'outside',
    });
    expect(unwritablePart(boron, 7, 0, 16)?.reason).toBe('outside');
  });
});

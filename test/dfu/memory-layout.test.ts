import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMemoryLayout, sectorsFor, segmentAt, segmentsFor } from '../../core/dfu/memory-layout';
import { PLATFORMS } from '../../core/platforms';

const must = (text: string) => {
  const r = parseMemoryLayout(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('parseMemoryLayout', () => {
  it('reads the Gen 2 internal flash layout', () => {
    const l = must('@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg');
    expect(l.name).toBe('Internal Flash');
    expect(l.segments.map((s) => [s.start, s.end, s.sectorSize, s.readable, s.erasable, s.writable])).toEqual(
      [
        [0x08000000, 0x0800c000, 16384, true, false, false],
        [0x0800c000, 0x08010000, 16384, true, true, true],
        [0x08010000, 0x08020000, 65536, true, true, true],
        [0x08020000, 0x08100000, 131072, true, true, true],
      ],
    );
  });

  it('reads every attribute letter as a bit set', () => {
    const l = must('@X /0x0/1*1Ka,1*1Kb,1*1Kc,1*1Kd,1*1Ke,1*1Kf,1*1Kg');
    expect(l.segments.map((s) => `${+s.readable}${+s.erasable}${+s.writable}`)).toEqual([
      '100',
      '010',
      '110',
      '001',
      '101',
      '011',
      '111',
    ]);
  });

  it('reads several address groups and M/B units', () => {
    const l = must('@Option Bytes /0x1FFFC000/01*016 e/0x08000000/2*1Mg');
    expect(l.segments.map((s) => [s.start, s.sectorSize])).toEqual([
      [0x1fffc000, 16],
      [0x08000000, 1024 * 1024],
    ]);
  });

  it('parses every layout in the platform table', () => {
    for (const p of PLATFORMS)
      for (const a of p.dfu.altSettings) expect(parseMemoryLayout(a.layout).ok).toBe(true);
  });

  it('names what is wrong with a bad string', () => {
    const r = parseMemoryLayout('@Flash /0x08000000/03*016Kz');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('DFU_LAYOUT_INVALID');
      expect(r.error.message).toContain('03*016Kz');
    }
    expect(parseMemoryLayout('Internal Flash').ok).toBe(false);
  });
});

describe('sector arithmetic', () => {
  const gen2 = must('@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg');
  const gen3 = must('@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka');

  it('erases only the sectors an image covers', () => {
    // Photon system-part1 at 0x08020000, 262 KB: three 128 KB sectors.
    expect(sectorsFor(gen2, 0x08020000, 262 * 1024)).toEqual([
      { address: 0x08020000, size: 131072 },
      { address: 0x08040000, size: 131072 },
      { address: 0x08060000, size: 131072 },
    ]);
    // Boron user part at 0xB4000, 10 KB + 1 byte: three 4 KB pages.
    expect(sectorsFor(gen3, 0xb4000, 10 * 1024 + 1).map((s) => s.address)).toEqual([
      0xb4000, 0xb5000, 0xb6000,
    ]);
    // Crossing from the 16 KB into the 64 KB segment.
    expect(sectorsFor(gen2, 0x0800c000, 0x5000).map((s) => s.size)).toEqual([16384, 65536]);
  });

  it('finds segments and refuses ranges that leave the layout', () => {
    expect(segmentAt(gen3, 0)?.writable).toBe(false);
    expect(segmentsFor(gen3, 0xfc000, 0x5000)).toBeUndefined();
    expect(segmentsFor(gen3, 0xf4000, 0x1000)?.length).toBe(1);
  });

  it('covers every byte of any in-range image with sectors, and nothing more than one sector beyond', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0800c000, max: 0x080fffff }),
        fc.integer({ min: 1, max: 0x40000 }),
        (a, n) => {
          fc.pre(a + n <= 0x08100000);
          const sectors = sectorsFor(gen2, a, n);
          const first = sectors[0];
          const last = sectors.at(-1);
          if (!first || !last) return false;
          for (let i = 1; i < sectors.length; i++) {
            const prev = sectors[i - 1];
            if (!prev || sectors[i]?.address !== prev.address + prev.size) return false;
          }
          return (
            first.address <= a &&
            a < first.address + first.size &&
            last.address < a + n &&
            a + n <= last.address + last.size
          );
        },
      ),
    );
  });
});

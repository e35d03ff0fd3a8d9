import { describe, expect, it } from 'vitest';
import { parseLayout, SimFlash } from '../../core/sim/flash';

const GEN2 = '@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg';

describe('parseLayout', () => {
  it('reads the Gen 2 internal flash map', () => {
    const l = parseLayout(GEN2);
    expect(l.name).toBe('Internal Flash');
    expect(l.segments.map((s) => [s.start, s.sectorSize, s.sectorCount])).toEqual([
      [0x08000000, 16384, 3],
      [0x0800c000, 16384, 1],
      [0x08010000, 65536, 1],
      [0x08020000, 131072, 7],
    ]);
    expect(l.segments[0]).toMatchObject({ readable: true, erasable: false, writable: false });
    expect(l.segments[1]).toMatchObject({ readable: true, erasable: true, writable: true });
    expect(l.segments.at(-1)?.end).toBe(0x08100000);
  });

  it('decodes every attribute letter a..g as r=1, e=2, w=4', () => {
    const l = parseLayout('@X /0x0/1*1Ka,1*1Kb,1*1Kc,1*1Kd,1*1Ke,1*1Kf,1*1Kg');
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

  it('handles several address groups and M sizes', () => {
    const l = parseLayout('@Two /0x1000/2*004Kg/0x80000000/1*001Mg');
    expect(l.segments.map((s) => s.start)).toEqual([0x1000, 0x80000000]);
    expect(l.segments[1]?.end).toBe(0x80000000 + 1024 * 1024);
  });

  it('rejects strings that are not DfuSe layouts', () => {
    expect(() => parseLayout('Internal Flash')).toThrow();
    expect(() => parseLayout('@Bad /0x0/3*16Kz')).toThrow();
  });
});

describe('SimFlash', () => {
  const make = () => new SimFlash(GEN2);

  it('reads erased (0xFF) before anything is written', () => {
    expect([...make().read(0x080a0000, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it('programs erased memory and reads it back', () => {
    const f = make();
    expect(f.program(0x080a0000, Uint8Array.of(1, 2, 3, 4), 'verify')).toBe('OK');
    expect([...f.read(0x080a0000, 5)]).toEqual([1, 2, 3, 4, 0xff]);
  });

  it('can only clear bits: overwriting stores old AND new', () => {
    const f = make();
    f.program(0x080a0000, Uint8Array.of(0b1010_1010), 'none');
    expect(f.program(0x080a0000, Uint8Array.of(0b0101_1111), 'none')).toBe('OK');
    expect(f.read(0x080a0000, 1)[0]).toBe(0b0000_1010);
  });

  it('reports errVERIFY when a verifying device wrote over non-erased data', () => {
    const f = make();
    f.program(0x080a0000, Uint8Array.of(0x00), 'verify');
    expect(f.program(0x080a0000, Uint8Array.of(0x55), 'verify')).toBe('errVERIFY');
    // Writing bits that are already clear is fine even without an erase.
    expect(f.program(0x080a0000, Uint8Array.of(0x00), 'verify')).toBe('OK');
  });

  it('reports errCHECK_ERASED and writes nothing when the device checks first', () => {
    const f = make();
    f.program(0x080a0000, Uint8Array.of(0x0f), 'none');
    expect(f.program(0x080a0000, Uint8Array.of(0xf0, 0x00), 'check-erased')).toBe('errCHECK_ERASED');
    expect([...f.read(0x080a0000, 2)]).toEqual([0x0f, 0xff]);
  });

  it('erase sets the whole sector holding the address to 0xFF, and only that sector', () => {
    const f = make();
    f.program(0x0800c000, Uint8Array.of(0), 'none');
    f.program(0x08010000, Uint8Array.of(0), 'none');
    expect(f.eraseSector(0x0800c123)).toEqual({ status: 'OK', sectorSize: 16384 });
    expect(f.read(0x0800c000, 1)[0]).toBe(0xff);
    expect(f.read(0x08010000, 1)[0]).toBe(0);
  });

  it('refuses to erase or write read-only sectors and anything outside the layout', () => {
    const f = make();
    expect(f.eraseSector(0x08000000).status).toBe('errERASE');
    expect(f.program(0x08004000, Uint8Array.of(0), 'verify')).toBe('errWRITE');
    expect(f.eraseSector(0x08100000).status).toBe('errADDRESS');
    expect(f.program(0x07ffffff, Uint8Array.of(0), 'verify')).toBe('errADDRESS');
    // A write that starts inside but runs past the end is refused too.
    expect(f.program(0x080ffffe, Uint8Array.of(0, 0, 0, 0), 'verify')).toBe('errADDRESS');
  });

  it('mass erase clears every erasable sector and leaves read-only ones', () => {
    const f = make();
    f.preload(0x08000000, Uint8Array.of(0x12));
    f.program(0x080a0000, Uint8Array.of(0), 'none');
    expect(f.eraseAll()).toHaveLength(9);
    expect(f.read(0x08000000, 1)[0]).toBe(0x12);
    expect(f.read(0x080a0000, 1)[0]).toBe(0xff);
  });

  it('writes spanning sector boundaries land in both sectors', () => {
    const f = new SimFlash('@F /0x0/4*004Kg');
    const data = new Uint8Array(8).fill(0x11);
    expect(f.program(4092, data, 'verify')).toBe('OK');
    expect([...f.read(4090, 12)]).toEqual([0xff, 0xff, ...data, 0xff, 0xff]);
  });

  it('flipBit changes exactly one bit', () => {
    const f = make();
    f.program(0x080a0000, Uint8Array.of(0x00), 'none');
    f.flipBit(0x080a0000, 3);
    expect(f.read(0x080a0000, 1)[0]).toBe(0x08);
  });

  it('canRead distinguishes outside the map from unreadable memory', () => {
    const f = new SimFlash('@F /0x0/1*004Kg,1*004Kf');
    expect(f.canRead(0, 4096)).toBe('OK');
    expect(f.canRead(4096, 1)).toBe('errVENDOR');
    expect(f.canRead(8192, 1)).toBe('errADDRESS');
  });
});

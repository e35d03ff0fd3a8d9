import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { crc32 } from '../../core/firmware/crc32';
import { dfuSuffixCrc, isDfuse, parseDfuse } from '../../core/firmware/dfuse-file';
import { inspectBytes } from '../../core/firmware/inspect';
import type { DfuseSpec } from '../../core/firmware/types';

describe('DfuSe files', () => {
  it('reads targets, names and elements', () => {
    const a = patternBytes(10, 1);
    const b = patternBytes(20, 2);
    const c = patternBytes(30, 3);
    const r = parseDfuse(
      'x.dfu',
      buildDfuse({
        targets: [
          {
            alt: 0,
            name: 'Internal Flash',
            elements: [
              { address: 0x08020000, data: a },
              { address: 0x08060000, data: b },
            ],
          },
          { alt: 1, elements: [{ address: 0x10, data: c }] },
        ],
      }),
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.info.version).toBe(1);
    expect(r.info.targets.map((t) => [t.alt, t.name, t.elements.length])).toEqual([
      [0, 'Internal Flash', 2],
      [1, undefined, 1],
    ]);
    expect(r.elements.map((e) => [e.alt, e.address, e.data])).toEqual([
      [0, 0x08020000, a],
      [0, 0x08060000, b],
      [1, 0x10, c],
    ]);
    expect(r.info.crc.ok).toBe(true);
  });

  it('uses dfu-util’s suffix CRC: the complement of CRC-32, stored little-endian', () => {
    const f = buildDfuse({ targets: [] });
    expect(dfuSuffixCrc(f, f.length - 4)).toBe(~crc32(f, 0, f.length - 4) >>> 0);
    const stored = new DataView(f.buffer).getUint32(f.length - 4, true);
    expect(stored).toBe(dfuSuffixCrc(f, f.length - 4));
  });

  it('recognises the DfuSe signature only at the start', () => {
    expect(isDfuse(new TextEncoder().encode('DfuSe...'))).toBe(true);
    expect(isDfuse(new TextEncoder().encode('xDfuSe'))).toBe(false);
  });

  it('attaches module info to an element that is a whole module at its own address', () => {
    const app = buildModule({ platformId: 13, function: 'user', product: { id: 5, version: 1 } });
    const f = inspectBytes(
      'app.dfu',
      buildDfuse({
        targets: [
          {
            alt: 0,
            elements: [
              { address: 0xb4000, data: app },
              { address: 0x1000, data: app },
            ],
          },
        ],
      }),
    );
    expect(f.error).toBeUndefined();
    expect(f.images[0]?.module?.function).toBe('user');
    // The same bytes at another address are not that module: kept as a plain image.
    expect(f.images[1]?.module).toBeUndefined();
  });

  it('calls a cut-off file truncated and reports damage before structure', () => {
    const full = buildDfuse({ targets: [{ alt: 0, elements: [{ address: 0, data: patternBytes(100) }] }] });
    const cut = inspectBytes('cut.dfu', full.subarray(0, 200));
    expect(cut.error?.code).toBe('FIRMWARE_TRUNCATED');
    const damaged = new Uint8Array(full);
    new DataView(damaged.buffer).setUint32(11 + 270, 5, true); // element count 1 → 5
    expect(inspectBytes('d.dfu', damaged).error?.code).toBe('DFUSE_CRC_MISMATCH');
  });

  it('accepts both readings of DFUImageSize: without the suffix (ST’s tools) and with it (dfuse-pack)', () => {
    const spec: DfuseSpec = {
      targets: [{ alt: 0, elements: [{ address: 0x080a0000, data: patternBytes(50) }] }],
    };
    for (const imageSizeWithSuffix of [false, true]) {
      const f = buildDfuse({ ...spec, imageSizeWithSuffix });
      const r = parseDfuse('x.dfu', f);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.info.imageSize).toBe(imageSizeWithSuffix ? f.length : f.length - 16);
      expect(r.elements[0]?.data).toEqual(patternBytes(50));
    }
  });

  it('refuses any other DFUImageSize, naming both accepted values', () => {
    const f = buildDfuse({ targets: [{ alt: 0, elements: [{ address: 0, data: patternBytes(40) }] }] });
    for (const imageSize of [0, f.length - 17, f.length - 1, f.length + 1]) {
      const b = new Uint8Array(f);
      new DataView(b.buffer).setUint32(6, imageSize, true);
      new DataView(b.buffer).setUint32(b.length - 4, dfuSuffixCrc(b, b.length - 4), true);
      const r = parseDfuse('x.dfu', b);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('DFUSE_BAD_STRUCTURE');
        expect(r.error.message).toContain(`${f.length - 16} bytes before its suffix (${f.length} with it)`);
      }
    }
  });

  it('calls a file that lost part or all of its suffix truncated, in either reading', () => {
    for (const imageSizeWithSuffix of [false, true]) {
      const f = buildDfuse({
        imageSizeWithSuffix,
        targets: [{ alt: 0, elements: [{ address: 0, data: patternBytes(100) }] }],
      });
      for (const cut of [1, 4, 15, 16, 17, 40])
        expect(parseDfuse('cut.dfu', f.subarray(0, f.length - cut))).toMatchObject({
          ok: false,
          error: { code: 'FIRMWARE_TRUNCATED' },
        });
    }
  });

  it('calls a whole file with a damaged suffix a bad suffix, not truncated, in either reading', () => {
    for (const imageSizeWithSuffix of [false, true]) {
      const f = buildDfuse({
        imageSizeWithSuffix,
        targets: [{ alt: 0, elements: [{ address: 0, data: patternBytes(100) }] }],
      });
      f[f.length - 8] = 0x58; // 'UFD' → 'XFD'
      expect(parseDfuse('bad.dfu', f)).toMatchObject({ ok: false, error: { code: 'DFUSE_BAD_SUFFIX' } });
    }
  });

  it('reads a target whose named flag is set but whose name is empty as unnamed', () => {
    const f = buildDfuse({ targets: [{ alt: 0, name: '', elements: [] }] });
    const r = parseDfuse('x.dfu', f);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.info.targets[0]?.name).toBeUndefined();
  });

  const specs = fc.record({
    targets: fc.array(
      fc.record({
        alt: fc.integer({ min: 0, max: 255 }),
        name: fc.option(fc.stringMatching(/^[ -~]{1,40}$/), { nil: undefined }),
        elements: fc.array(
          fc.record({ address: fc.nat({ max: 0xffffffff }), data: fc.uint8Array({ maxLength: 300 }) }),
          { maxLength: 4 },
        ),
      }),
      { maxLength: 4 },
    ),
    imageSizeWithSuffix: fc.boolean(),
    idVendor: fc.nat({ max: 0xffff }),
    idProduct: fc.nat({ max: 0xffff }),
    bcdDevice: fc.nat({ max: 0xffff }),
  });

  it('property: parse(build(spec)) gives back every target and element, in either reading', () => {
    fc.assert(
      fc.property(specs, (spec) => {
        const r = parseDfuse('p.dfu', buildDfuse(spec));
        if (!r.ok) throw new Error(r.error.message);
        expect(r.info.crc.ok).toBe(true);
        expect(r.info.suffix).toMatchObject({
          idVendor: spec.idVendor,
          idProduct: spec.idProduct,
          bcdDevice: spec.bcdDevice,
        });
        expect(
          r.info.targets.map((t) => [t.alt, t.name, t.elements.map((e) => [e.address, e.size])]),
        ).toEqual(
          spec.targets.map((t) => [t.alt, t.name, t.elements.map((e) => [e.address, e.data.length])]),
        );
        expect(r.elements.map((e) => [e.alt, e.address, e.data])).toEqual(
          spec.targets.flatMap((t) => t.elements.map((e) => [t.alt, e.address, e.data])),
        );
      }),
      { seed: 20261204, numRuns: 300 },
    );
  });

  it('property: every cut-short copy of a valid file is refused as truncated', () => {
    fc.assert(
      fc.property(
        specs.chain((spec) => {
          const f = buildDfuse(spec);
          return fc.tuple(fc.constant(f), fc.integer({ min: 5, max: f.length - 1 }));
        }),
        ([f, length]) => {
          expect(parseDfuse('cut.dfu', f.subarray(0, length))).toMatchObject({
            ok: false,
            error: { code: 'FIRMWARE_TRUNCATED' },
          });
        },
      ),
      { seed: 20261204, numRuns: 500 },
    );
  });
});

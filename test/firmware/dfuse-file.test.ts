import { describe, expect, it } from 'vitest';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { crc32 } from '../../core/firmware/crc32';
import { dfuSuffixCrc, isDfuse, parseDfuse } from '../../core/firmware/dfuse-file';
import { inspectBytes } from '../../core/firmware/inspect';

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
});

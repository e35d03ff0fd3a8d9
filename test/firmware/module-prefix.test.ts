import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { crc32 } from '../../core/firmware/crc32';
import {
  findPrefix,
  judgePrefix,
  readPrefixExtensions,
  scorePrefix,
} from '../../core/firmware/module-prefix';

describe('module prefix search', () => {
  it('finds a prefix at an unusual offset by scanning', () => {
    const m = buildModule({ platformId: 32, function: 'bootloader', prefixOffset: 0x20 });
    expect(findPrefix(m)).toMatchObject({ offset: 0x20, score: 7 });
  });

  it('rates a perfect prefix 7 and refuses nonsense', () => {
    const m = buildModule({ platformId: 13, function: 'user' });
    expect(scorePrefix(m, 0)).toEqual({ score: 7, passed: true, truncated: false });
    expect(scorePrefix(patternBytes(100), 0).score).toBe(0);
    expect(scorePrefix(m, m.length - 10).score).toBe(0);
  });

  it('tells a cut-off module from a non-module', () => {
    const m = buildModule({ platformId: 13, function: 'user', bodySize: 2000 });
    const cut = m.subarray(0, 1000);
    expect(findPrefix(cut).truncatedAt).toBe(0);
    expect(findPrefix(patternBytes(1000)).truncatedAt).toBeUndefined();
  });

  it('requires prefix extensions to end with an END record', () => {
    const end = new Uint8Array([0, 0, 4, 0]);
    const good = buildModule({
      platformId: 32,
      function: 'user',
      flags: 0x10,
      body: new Uint8Array([...end, 1, 2]),
    });
    expect(readPrefixExtensions(good, 0)).toMatchObject({ ok: true, prefixSize: 28 });
    const name = new Uint8Array([0x11, 0, 6, 0, 0x41, 0x42]);
    const noEnd = buildModule({
      platformId: 32,
      function: 'user',
      flags: 0x10,
      body: new Uint8Array([...name, 0xff, 0xff, 0, 0]),
    });
    expect(readPrefixExtensions(noEnd, 0)).toEqual({
      ok: false,
      reason: 'the prefix extensions do not end with an END record',
    });
  });
});

describe('judging the prefix Particle’s parser picks', () => {
  const judge = (b: Uint8Array) => {
    const crcOk =
      crc32(b, 0, b.length - 4) === new DataView(b.buffer, b.byteOffset).getUint32(b.length - 4, false);
    return judgePrefix(b, findPrefix(b), crcOk);
  };
  const system = buildModule({ platformId: 6, function: 'system', bodySize: 1000 });
  const end = new DataView(system.buffer).getUint32(0x188, true);

  it('trusts a module’s own prefix whose addresses give the file’s size', () => {
    expect(judge(system)).toEqual({ kind: 'sound' });
    expect(judge(buildModule({ platformId: 32, function: 'bootloader', prefixOffset: 0x20 }))).toEqual({
      kind: 'sound',
    });
  });

  it('calls a picked prefix whose end address contradicts a whole file a lie', () => {
    const b = buildModule({
      platformId: 6,
      function: 'system',
      bodySize: 1000,
      lie: { endAddress: end - 0x100 },
    });
    expect(judge(b)).toMatchObject({
      kind: 'lies',
      fault: { prefixOffset: 0x184, field: 'endAddress', fieldOffset: 0x188 },
    });
  });

  it('finds the module’s own damaged prefix when the scan would read another', () => {
    const b = buildModule({
      platformId: 6,
      function: 'system',
      bodySize: 1000,
      startAddress: end,
      lie: { endAddress: 0x08020000 },
    });
    expect(judge(b)).toMatchObject({
      kind: 'damaged',
      fault: { prefixOffset: 0x184, field: 'startAddress/endAddress' },
    });
    const outside = buildModule({ platformId: 6, function: 'system', bodySize: 1000, startAddress: 0x2000 });
    expect(judge(outside)).toEqual({ kind: 'sound' }); // size agrees: the flash map refuses it later
  });

  it('tells a cut-off file (no CRC at its end) from an end address that lies', () => {
    expect(judge(system.slice(0, 800))).toEqual({
      kind: 'truncated',
      prefixOffset: 0x184,
      expectedSize: system.length,
    });
    const lie = buildModule({
      platformId: 6,
      function: 'system',
      bodySize: 1000,
      lie: { endAddress: end + 0x100 },
    });
    expect(judge(lie)).toMatchObject({ kind: 'damaged', fault: { field: 'endAddress' } });
  });

  it('believes a scanned prefix only when platform, function and addresses fit together', () => {
    expect(judge(buildModule({ platformId: 13, function: 'user', prefixOffset: 0x44 }))).toEqual({
      kind: 'sound',
    });
    expect(judge(buildModule({ platformId: 99, function: 'user', prefixOffset: 0x44 }))).toEqual({
      kind: 'unbelievable',
      reason: 'names platform ID 99, which this station does not know',
    });
    expect(judge(patternBytes(1000))).toEqual({ kind: 'none' });
  });
});

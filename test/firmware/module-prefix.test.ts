import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { findPrefix, readPrefixExtensions, scorePrefix } from '../../core/firmware/module-prefix';

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

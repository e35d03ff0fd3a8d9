import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { flagNames, functionCode, functionName, parseModule } from '../../core/firmware/module-parser';

describe('parseModule', () => {
  it('keeps unknown function codes as numbers, both ways', () => {
    expect(functionName(5)).toBe('user');
    expect(functionName(129)).toBe(129);
    expect(functionCode('radio')).toBe(8);
    expect(functionCode(129)).toBe(129);
  });

  it('names flags', () => {
    expect(flagNames(0x19)).toEqual(['DROP_MODULE_INFO', 'ENCRYPTED', 'PREFIX_EXTENSIONS']);
    expect(flagNames(0)).toEqual([]);
  });

  it('says how short a truncated module is', () => {
    const m = buildModule({ platformId: 13, function: 'user', bodySize: 1000 });
    const r = parseModule('cut.bin', m.subarray(0, 500));
    expect(r.ok ? 'parsed' : r.error).toMatchObject({
      code: 'FIRMWARE_TRUNCATED',
      details: { size: 500, expectedSize: m.length },
    });
    const tiny = parseModule('tiny.bin', m.subarray(0, 40));
    expect(tiny.ok ? 'parsed' : tiny.error.message).toBe(
      'tiny.bin is 40 bytes, too short for a module (a prefix, suffix and CRC take 64).',
    );
  });

  it('checks the SHA-256 over everything but the hash, the suffix size and the CRC', () => {
    const m = buildModule({ platformId: 13, function: 'user' });
    const ok = parseModule('m.bin', m);
    expect(ok.ok && ok.module.hash.ok).toBe(true);
    const edited = new Uint8Array(m);
    edited[100] = (edited[100] as number) ^ 1;
    const bad = parseModule('m.bin', edited);
    expect(bad.ok && [bad.module.hash.ok, bad.module.crc.ok]).toEqual([false, false]);
  });

  it('refuses bytes with no prefix', () => {
    const r = parseModule('noise.bin', patternBytes(4096, 77));
    expect(r.ok ? 'parsed' : r.error.code).toBe('FIRMWARE_NOT_A_MODULE');
  });
});

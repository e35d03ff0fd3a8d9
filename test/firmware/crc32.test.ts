import { describe, expect, it } from 'vitest';
import { patternBytes } from '../../core/firmware/builder';
import { crc32, crc32Table, crcHex } from '../../core/firmware/crc32';

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crcHex(crc32(new TextEncoder().encode('123456789')))).toBe('cbf43926');
    expect(crcHex(crc32Table(new TextEncoder().encode('123456789')))).toBe('cbf43926');
  });
  it('is 0 for no bytes and honours a sub-range', () => {
    expect(crc32(new Uint8Array())).toBe(0);
    const b = new TextEncoder().encode('xx123456789yy');
    expect(crc32(b, 2, 11)).toBe(0xcbf43926);
    expect(crc32Table(b, 2, 11)).toBe(0xcbf43926);
  });
  it('gives the same answer natively and from the table', () => {
    for (const size of [1, 7, 4096, 100_003]) {
      const b = patternBytes(size, size);
      expect(crc32(b, 1, size)).toBe(crc32Table(b, 1, size));
    }
  });
  it('pads hex to 8 lower-case digits', () => {
    expect(crcHex(0xabc)).toBe('00000abc');
  });
});

import { describe, expect, it } from 'vitest';
import { crc32, crcHex } from '../../core/firmware/crc32';

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crcHex(crc32(new TextEncoder().encode('123456789')))).toBe('cbf43926');
  });
  it('is 0 for no bytes and honours a sub-range', () => {
    expect(crc32(new Uint8Array())).toBe(0);
    const b = new TextEncoder().encode('xx123456789yy');
    expect(crc32(b, 2, 11)).toBe(0xcbf43926);
  });
  it('pads hex to 8 lower-case digits', () => {
    expect(crcHex(0xabc)).toBe('00000abc');
  });
});

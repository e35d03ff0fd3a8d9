import { describe, expect, it } from 'vitest';
import { parseFileArgument } from '../../core/firmware/raw-file';

describe('parseFileArgument', () => {
  it('reads FILE@0xADDRESS as a raw image', () => {
    expect(parseFileArgument('image.bin@0x080A0000')).toEqual({
      ok: true,
      value: { path: 'image.bin', rawAddress: 0x080a0000 },
    });
    expect(parseFileArgument('dir/a@b/image.bin@0xd4000')).toEqual({
      ok: true,
      value: { path: 'dir/a@b/image.bin', rawAddress: 0xd4000 },
    });
  });

  it('keeps Particle-style names with @version as plain paths', () => {
    expect(parseFileArgument('p2-bootloader@5.6.0.bin')).toEqual({
      ok: true,
      value: { path: 'p2-bootloader@5.6.0.bin' },
    });
    expect(parseFileArgument('@0x1000')).toEqual({ ok: true, value: { path: '@0x1000' } });
  });

  it('refuses an address that is not 32-bit hex', () => {
    for (const bad of ['a.bin@0x', 'a.bin@0x123456789', 'a.bin@0xG1']) {
      const r = parseFileArgument(bad);
      expect(r.ok ? 'accepted' : r.error.code, bad).toBe('RAW_BAD_ADDRESS');
    }
  });
});

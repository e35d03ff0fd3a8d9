import { describe, expect, it } from 'vitest';
import { PLATFORMS, platformById, platformByName, platformByUsbId } from '../../core/platforms';

describe('platform table', () => {
  it('derives normal and DFU product IDs from the platform ID for Particle platforms', () => {
    for (const p of PLATFORMS.filter((x) => x.usb.vendorId === 0x2b04)) {
      expect(p.usb.normalProductId).toBe(0xc000 | p.id);
      expect(p.usb.dfuProductId).toBe(0xd000 | p.id);
    }
  });

  it('recognises a Boron in DFU mode and a Photon in normal mode by VID:PID', () => {
    expect(platformByUsbId(0x2b04, 0xd00d)).toMatchObject({ platform: { name: 'boron' }, mode: 'dfu' });
    expect(platformByUsbId(0x2b04, 0xc006)).toMatchObject({ platform: { name: 'photon' }, mode: 'normal' });
  });

  it('does not recognise foreign devices or unknown Particle PIDs', () => {
    expect(platformByUsbId(0x0483, 0xdf11)).toBeUndefined();
    expect(platformByUsbId(0x2b04, 0xd0ff)).toBeUndefined();
  });

  it('looks platforms up by name, case-insensitively, and by numeric ID', () => {
    expect(platformByName('P2')?.id).toBe(32);
    expect(platformByName('23')?.name).toBe('bsom');
    expect(platformById(35)?.name).toBe('msom');
    expect(platformByName('nonsense')).toBeUndefined();
  });

  it('marks the RTL872x zero-length quirk only on p2, msom and trackerm', () => {
    const quirky = PLATFORMS.filter((p) => p.dfu.zeroLengthOutNeedsByte).map((p) => p.name);
    expect(quirky.sort()).toEqual(['msom', 'p2', 'trackerm']);
  });
});

import { describe, expect, it } from 'vitest';
import { platformByName } from '../../core/platforms';
import {
  eraseMs,
  NRF52840_TIMING,
  programMs,
  RTL872X_TIMING,
  reenumerateMs,
  STM32F2_TIMING,
  timingFor,
} from '../../core/sim/timing';

const platform = (name: string) => {
  const p = platformByName(name);
  if (!p) throw new Error(name);
  return p;
};

describe('timing profiles', () => {
  it('picks the profile by MCU', () => {
    expect(timingFor(platform('photon'))).toBe(STM32F2_TIMING);
    expect(timingFor(platform('boron'))).toBe(NRF52840_TIMING);
    expect(timingFor(platform('p2'))).toBe(RTL872X_TIMING);
  });

  it('erase time per sector size follows the datasheets, with a per-KB fallback', () => {
    expect(eraseMs(STM32F2_TIMING, 16 * 1024)).toBe(250);
    expect(eraseMs(STM32F2_TIMING, 64 * 1024)).toBe(550);
    expect(eraseMs(STM32F2_TIMING, 128 * 1024)).toBe(1250);
    expect(eraseMs(NRF52840_TIMING, 4096)).toBe(85);
    expect(eraseMs(NRF52840_TIMING, 8192)).toBe(170);
  });

  it('program time is per 32-bit word, rounding a partial word up', () => {
    expect(programMs(STM32F2_TIMING, 4096)).toBeCloseTo(1024 * 0.016, 9);
    expect(programMs(NRF52840_TIMING, 5)).toBeCloseTo(2 * 0.041, 9);
  });

  it('re-enumeration time can differ per cause', () => {
    const t = { ...NRF52840_TIMING, reenumerateAfter: { leave: 4000 } };
    expect(reenumerateMs(t, 'leave')).toBe(4000);
    expect(reenumerateMs(t, 'dfu-mode')).toBe(1600);
  });
});

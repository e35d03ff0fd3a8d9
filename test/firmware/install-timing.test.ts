import { describe, expect, it } from 'vitest';
import {
  dfuWriteMs,
  INSTALL_TIMING,
  internalWriteMs,
  modeSwitchMs,
  normalUpdateMs,
} from '../../core/firmware/install-timing';
import { type Platform, platformById } from '../../core/platforms';

/* The install-time model (core/firmware/install-timing.ts): figures, not wall-clock measurements. */

const platform = (id: number): Platform => {
  const p = platformById(id);
  if (!p) throw new Error(`no platform ${id}`);
  return p;
};
const boron = platform(13);
const photon = platform(6);
const p2 = platform(32);
const argon = platform(12);

describe('install timing model', () => {
  it('erases every sector an image touches, at that sector size', () => {
    // Gen 2: the user part at 0x080A0000 lies in one 128 KB sector, whatever its size.
    const t = INSTALL_TIMING.STM32F205;
    expect(internalWriteMs(photon, 0x080a0000, 4)).toBeCloseTo(1500 + t.wordProgramMs);
    // Crossing from a 64 KB sector (0x08010000) into the first 128 KB one costs both erases.
    expect(internalWriteMs(photon, 0x0801f000, 0x2000)).toBeCloseTo(550 + 1500 + 0x800 * t.wordProgramMs);
    // nRF52840: 4 KB pages at 85 ms; an unaligned start touches one page more.
    expect(internalWriteMs(boron, 0xb4000, 8192)).toBeCloseTo(2 * 85 + 2048 * 0.041);
    expect(internalWriteMs(boron, 0xb4800, 8192)).toBeCloseTo(3 * 85 + 2048 * 0.041);
  });

  it('puts a 256 KB Gen 3 user part over DFU at several seconds, and grows with size', () => {
    const ms = dfuWriteMs(boron, 0xb4000, 256 * 1024);
    expect(ms).toBeGreaterThan(5_000);
    expect(ms).toBeLessThan(15_000);
    expect(dfuWriteMs(boron, 0xb4000, 128 * 1024)).toBeLessThan(ms);
    expect(Number.isInteger(ms)).toBe(true);
  });

  it('makes NCP firmware a matter of minutes and a bootloader a matter of seconds', () => {
    const ncp = normalUpdateMs(argon, 'ncp', 829_248, 0);
    expect(ncp).toBeGreaterThan(60_000);
    expect(ncp).toBeLessThan(240_000); // particle-cli's budget for a whole module
    const boot = normalUpdateMs(boron, 'bootloader', 48 * 1024, 0xf4000);
    expect(boot).toBeGreaterThan(modeSwitchMs(boron));
    expect(boot).toBeLessThan(20_000);
    expect(normalUpdateMs(p2, 'asset', 10 * 1024, 0)).toBeLessThan(
      normalUpdateMs(p2, 'asset', 100 * 1024, 0),
    );
  });

  it('charges normal mode more per byte than DFU for the same module', () => {
    expect(normalUpdateMs(boron, 'bootloader', 48 * 1024, 0xf4000)).toBeGreaterThan(
      dfuWriteMs(boron, 0xf4000, 48 * 1024),
    );
  });
});

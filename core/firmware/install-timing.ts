import type { Mcu, Platform } from '../platforms';
import { parseLayout } from './flash-layout';
import type { ModuleFunctionName } from './types';

/*
 * How long installing a module should take, so a plan can say "about 40 s" and a station can tell a
 * slow device from a stuck one. A model, not a measurement: figures are datasheet typicals and
 * Particle's published behaviour, and the simulator keeps its own, independent model
 * (core/sim/timing.ts), so neither can hide a mistake in the other.
 *
 * - DFU: each sector the image touches is erased, every 32-bit word programmed, and each
 *   transfer-size block costs a DNLOAD plus its GETSTATUS round trips on a full-speed bus.
 * - Normal mode (control requests 250–253): listening mode first (particle-cli waits 1 s), START
 *   erases the staging area for the whole size, DATA goes in 1024-byte chunks one after another,
 *   FINISH, then the device applies the module (NCP and assets before its reset, bootloaders and
 *   parts during the next boot) and comes back on the bus.
 *
 * Sources: STM32F2 reference manual (sector erase 16 KB ≈ 250 ms, 64 KB ≈ 550 ms, 128 KB 1–2 s;
 * word program ≈ 16 µs), nRF52840 product specification (4 KB page erase ≤ 85 ms, word write
 * ≤ 41 µs), QSPI NOR datasheets for the RTL872x and Gen 3 external flash (4 KB sector erase
 * ≈ 40–50 ms, 256-byte page ≈ 0.7–0.9 ms), particle-cli (NCP updates may take minutes: it allows
 * 240 s). NCP and asset figures are estimates; a station should log real times and refine them.
 */

export interface InstallTiming {
  /** Erasing one internal-flash sector, by sector size in bytes (the DFU layout gives the sizes). */
  readonly sectorEraseMs: Readonly<Record<number, number>>;
  /** Erase cost per KB for a sector size not listed above. */
  readonly eraseMsPerKb: number;
  /** Programming one 32-bit word of internal flash. */
  readonly wordProgramMs: number;
  /** One DFU block on the wire: DNLOAD of up to wTransferSize bytes plus its GETSTATUS. */
  readonly dfuBlockMs: number;
  /** Normal mode: erasing the staging area, per KB of the announced size (START waits for it). */
  readonly stagingEraseMsPerKb: number;
  /** Normal mode: storing data in the staging area, per KB. */
  readonly stagingWriteMsPerKb: number;
  /** One control request round trip (INIT, CHECK, SEND): each DATA chunk and the FINISH. */
  readonly controlRequestMs: number;
  /** A reset until the device is back on the same port (≈ 1.6 s typical, up to 8 s). */
  readonly rebootMs: number;
  /** Listening mode before START: the request, the mode poll and particle-cli's 1 s pause. */
  readonly listeningMs: number;
  /** Applying NCP firmware over the radio module's UART before the reset: a fixed part and per KB. */
  readonly ncpApplyMs: number;
  readonly ncpApplyMsPerKb: number;
  /** Storing an asset in the file system on external flash, per KB. */
  readonly assetStoreMsPerKb: number;
}

/** Bytes a normal-mode DATA request carries (Device OS answers START with chunk_size 1024). */
export const NORMAL_CHUNK_SIZE = 1024;

const USB = { dfuBlockMs: 6, controlRequestMs: 5, rebootMs: 2500, listeningMs: 1500 } as const;
const RADIO_AND_ASSETS = { ncpApplyMs: 15_000, ncpApplyMsPerKb: 100, assetStoreMsPerKb: 20 } as const;

export const INSTALL_TIMING: Readonly<Record<Mcu, InstallTiming>> = {
  STM32F103: {
    ...USB,
    ...RADIO_AND_ASSETS,
    sectorEraseMs: { 1024: 20 },
    eraseMsPerKb: 20,
    wordProgramMs: 0.05,
    stagingEraseMsPerKb: 20,
    stagingWriteMsPerKb: 12.8,
  },
  STM32F205: {
    ...USB,
    ...RADIO_AND_ASSETS,
    sectorEraseMs: { [16 * 1024]: 250, [64 * 1024]: 550, [128 * 1024]: 1500 },
    eraseMsPerKb: 12,
    wordProgramMs: 0.016,
    // Gen 2 stages an update in its internal flash, in 128 KB sectors.
    stagingEraseMsPerKb: 1500 / 128,
    stagingWriteMsPerKb: 256 * 0.016,
  },
  nRF52840: {
    ...USB,
    ...RADIO_AND_ASSETS,
    sectorEraseMs: { [4 * 1024]: 85 },
    eraseMsPerKb: 85 / 4,
    wordProgramMs: 0.041,
    // Gen 3 stages an update in the external QSPI flash.
    stagingEraseMsPerKb: 12.5,
    stagingWriteMsPerKb: 3.5,
  },
  RTL872x: {
    ...USB,
    ...RADIO_AND_ASSETS,
    sectorEraseMs: { [4 * 1024]: 50 },
    eraseMsPerKb: 12.5,
    wordProgramMs: 0.012,
    stagingEraseMsPerKb: 12.5,
    stagingWriteMsPerKb: 3,
  },
};

export const timingFor = (platform: Platform): InstallTiming => INSTALL_TIMING[platform.mcu];

const DEFAULT_SECTOR = 4096;

/** The sectors [address, address + size) touches on alt 0, with their sizes (4 KB where the layout says nothing). */
const sectorsTouched = (platform: Platform, alt: number, address: number, size: number): number[] => {
  const layout = platform.dfu.altSettings.find((a) => a.alt === alt)?.layout;
  const segments = layout ? parseLayout(layout) : [];
  const end = address + size;
  const touched: number[] = [];
  let covered = address;
  for (const seg of segments) {
    if (seg.end <= address || seg.start >= end) continue;
    const first =
      seg.start + Math.floor((Math.max(address, seg.start) - seg.start) / seg.sectorSize) * seg.sectorSize;
    for (let at = first; at < Math.min(end, seg.end); at += seg.sectorSize) touched.push(seg.sectorSize);
    covered = Math.max(covered, Math.min(end, seg.end));
  }
  for (let at = covered; at < end; at += DEFAULT_SECTOR) touched.push(DEFAULT_SECTOR);
  return touched;
};

const eraseMs = (t: InstallTiming, sectorSize: number): number =>
  t.sectorEraseMs[sectorSize] ?? (sectorSize / 1024) * t.eraseMsPerKb;

/** Erasing and programming `size` bytes of internal flash at `address` (no USB). */
export const internalWriteMs = (platform: Platform, address: number, size: number, alt = 0): number => {
  const t = timingFor(platform);
  const erase = sectorsTouched(platform, alt, address, size).reduce((ms, s) => ms + eraseMs(t, s), 0);
  return erase + Math.ceil(size / 4) * t.wordProgramMs;
};

/** One image written over DFU: erase, program and the blocks on the bus. */
export const dfuWriteMs = (platform: Platform, address: number, size: number, alt = 0): number => {
  const t = timingFor(platform);
  const blocks = Math.ceil(size / platform.dfu.transferSize);
  return Math.round(internalWriteMs(platform, address, size, alt) + blocks * t.dfuBlockMs);
};

/**
 * One module sent in normal mode, from asking for listening mode to the device back on the bus
 * with the module applied. `address` is where a bootloader or part ends up (its apply is a write
 * of internal flash); NCP firmware and assets do not live in the MCU's flash.
 */
export const normalUpdateMs = (
  platform: Platform,
  fn: ModuleFunctionName | number,
  size: number,
  address: number,
): number => {
  const t = timingFor(platform);
  const kb = size / 1024;
  const chunks = Math.ceil(size / NORMAL_CHUNK_SIZE);
  const transfer =
    t.listeningMs +
    t.controlRequestMs + // START
    kb * t.stagingEraseMsPerKb +
    chunks * t.controlRequestMs +
    kb * t.stagingWriteMsPerKb +
    t.controlRequestMs; // FINISH
  const apply =
    fn === 'ncp'
      ? t.ncpApplyMs + kb * t.ncpApplyMsPerKb
      : fn === 'asset'
        ? kb * t.assetStoreMsPerKb
        : internalWriteMs(platform, address, size);
  return Math.round(transfer + apply + t.rebootMs);
};

/** Moving a device between normal and DFU mode: a reset and a new enumeration on the same port. */
export const modeSwitchMs = (platform: Platform): number => timingFor(platform).rebootMs;

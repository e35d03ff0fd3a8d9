import type { Platform } from '../platforms';

/**
 * How long things take on a real device, as data. Every figure is in unscaled milliseconds; the
 * device multiplies by its `timeScale` (0.001 or 0 in tests, 1 in benchmarks) before waiting, and
 * keeps the unscaled sum as its "inherent time" so a benchmark can compute host overhead as
 * wall time / (inherent time × timeScale).
 *
 * Sources: STM32F2 reference manual and datasheet (sector erase typ. 16 KB ≈ 250 ms, 64 KB ≈ 550 ms,
 * 128 KB ≈ 1–2 s; 32-bit word program ≈ 16 µs), nRF52840 product spec (4 KB page erase ≤ 85 ms,
 * word write ≤ 41 µs), the RTL872x parts program an external QSPI NOR (4 KB sector erase ≈ 45 ms typ.,
 * 256-byte page program ≈ 0.7 ms), USB 2.0 full speed (12 Mbit/s, 1 ms frames).
 */

/**
 * What the device does with requests that arrive while it is still erasing or programming:
 * - `hold`: the request waits until the operation is done, then is answered. This is what real
 *   Particle and ST bootloaders do: the flash operation runs inside the USB interrupt after the
 *   dfuDNBUSY status went out, so the next control transfer is NAKed until it finishes.
 * - `answer-busy`: GETSTATUS is answered at once with dfuDNBUSY and the remaining time as
 *   bwPollTimeout; any other request stalls and sends the device to dfuERROR.
 * - `strict`: DFU 1.1 appendix A.2 to the letter: dfuDNBUSY has no transition for any request
 *   before the poll timeout expires, so every request stalls and sends the device to dfuERROR.
 */
export type BusyPolicy = 'hold' | 'answer-busy' | 'strict';

/** What made the device re-enumerate; each may take its own time (see `reenumerateAfter`). */
export type ResetKind = 'leave' | 'dfu-mode' | 'reset' | 'serial' | 'fault' | 'update';

export interface TimingProfile {
  /** Erase time per sector, keyed by sector size in bytes. Sizes not listed use `eraseMsPerKb`. */
  readonly eraseMsBySectorSize: Readonly<Record<number, number>>;
  /** Fallback erase cost per KB of sector. */
  readonly eraseMsPerKb: number;
  /** Program time per 32-bit word. */
  readonly programMsPerWord: number;
  /** Time on the wire per data byte of a control transfer (full speed, 64-byte packets). */
  readonly usbMsPerByte: number;
  /** Minimum cost of each stage of a control transfer (setup, data, status): one 1 ms frame each. */
  readonly usbMsPerStage: number;
  /**
   * The bwPollTimeout the device reports with dfuDNBUSY: `operation` reports the modelled time of
   * the erase or program it is about to do (a host that honours it wastes nothing); a number reports
   * that fixed value (Particle bootloader v12+ reports 0; ST's library reports 50).
   */
  readonly pollTimeout: 'operation' | number;
  readonly busyPolicy: BusyPolicy;
  /** After leave / DFU_MODE / RESET: how long until the device drops off the bus. */
  readonly detachDelayMs: number;
  /** How long the device stays off the bus before it enumerates again (≈1.6 s typical, up to 8 s). */
  readonly reenumerateMs: number;
  /** Per-cause overrides of `reenumerateMs` (e.g. a slow boot after leave, a quick DFU_MODE). */
  readonly reenumerateAfter?: Partial<Record<ResetKind, number>>;
  /**
   * Gen 3+: time between reporting dfuMANIFEST and resetting (Device OS counts USBD_DFU_POLL_TIMEOUT
   * = 500 ticks of 1 ms in dfuMANIFEST-WAIT-RESET). Gen 2 resets after `detachDelayMs`.
   */
  readonly manifestMs: number;
  /** Device OS processing time for a control service request before CHECK reports it done. */
  readonly controlRequestMs: number;
  /**
   * The OTA area a normal-mode update is staged in (Device OS HAL_FLASH_Begin erases the sectors
   * covering the announced size before START answers): sector size and erase time per sector.
   */
  readonly otaSectorSize: number;
  readonly otaEraseMsPerSector: number;
  /** Writing firmware data into the OTA area, per KB (FIRMWARE_UPDATE_DATA). */
  readonly otaProgramMsPerKb: number;
  /**
   * Applying an NCP image after FINISH, before the reset (the system talks the NCP through its own
   * update over UART): a fixed part (NCP reset, handshake, verify) plus a per-KB transfer.
   */
  readonly ncpUpdateMs: number;
  readonly ncpUpdateMsPerKb: number;
  /** Storing an asset into the file system after FINISH, per KB. */
  readonly assetStoreMsPerKb: number;
  /**
   * Cellular: powering the modem up for the first CELLULAR_GET_ICCID after a boot
   * (ncpClient->on() waits for the modem's AT interface; a u-blox SARA takes several seconds).
   */
  readonly modemOnMs: number;
}

const USB_FULL_SPEED = { usbMsPerByte: 0.001, usbMsPerStage: 1 } as const;

const COMMON = {
  ...USB_FULL_SPEED,
  pollTimeout: 'operation',
  busyPolicy: 'hold',
  detachDelayMs: 50,
  reenumerateMs: 1600,
  manifestMs: 500,
  controlRequestMs: 5,
  modemOnMs: 7_000,
} as const;

/*
 * Normal-mode update figures. NCP: an ESP32 image (≈ 800 KB) takes about a minute: 10 s fixed plus
 * ≈ 12.5 KB/s over the UART (particle-cli allows 240 s for the whole module because of it). Assets
 * go into LittleFS on the external flash (erase + program ≈ 15 ms per KB).
 */
const UPDATE_COMMON = { ncpUpdateMs: 10_000, ncpUpdateMsPerKb: 80, assetStoreMsPerKb: 15 } as const;

export const STM32F2_TIMING: TimingProfile = {
  ...COMMON,
  ...UPDATE_COMMON,
  eraseMsBySectorSize: { [16 * 1024]: 250, [64 * 1024]: 550, [128 * 1024]: 1250 },
  eraseMsPerKb: 10,
  programMsPerWord: 0.016,
  // Gen 2 stages updates in internal flash at 0x080C0000: 128 KB sectors.
  otaSectorSize: 128 * 1024,
  otaEraseMsPerSector: 1250,
  otaProgramMsPerKb: 256 * 0.016,
};

export const NRF52840_TIMING: TimingProfile = {
  ...COMMON,
  ...UPDATE_COMMON,
  eraseMsBySectorSize: { [4 * 1024]: 85 },
  eraseMsPerKb: 21.25,
  programMsPerWord: 0.041,
  // Gen 3 stages updates in the external QSPI NOR (MX25R-class: 4 KB sector erase ≈ 40 ms typ.,
  // 256-byte page program ≈ 0.85 ms typ.).
  otaSectorSize: 4 * 1024,
  otaEraseMsPerSector: 40,
  otaProgramMsPerKb: 3.4,
};

export const RTL872X_TIMING: TimingProfile = {
  ...COMMON,
  ...UPDATE_COMMON,
  eraseMsBySectorSize: { [4 * 1024]: 45 },
  eraseMsPerKb: 11.25,
  programMsPerWord: 0.011,
  // The OTA area (0x08260000, 1.5 MB) is in the same QSPI NOR as everything else.
  otaSectorSize: 4 * 1024,
  otaEraseMsPerSector: 45,
  otaProgramMsPerKb: 2.8,
};

export const timingFor = (platform: Platform): TimingProfile => {
  switch (platform.mcu) {
    case 'nRF52840':
      return NRF52840_TIMING;
    case 'RTL872x':
      return RTL872X_TIMING;
    default:
      return STM32F2_TIMING;
  }
};

export const eraseMs = (t: TimingProfile, sectorSize: number): number =>
  t.eraseMsBySectorSize[sectorSize] ?? (sectorSize / 1024) * t.eraseMsPerKb;

export const programMs = (t: TimingProfile, bytes: number): number =>
  Math.ceil(bytes / 4) * t.programMsPerWord;

/** A control transfer: setup + optional data stage + status, each at least a frame, plus the bytes. */
export const transferMs = (t: TimingProfile, dataBytes: number): number =>
  (dataBytes > 0 ? 3 : 2) * t.usbMsPerStage + dataBytes * t.usbMsPerByte;

export const reenumerateMs = (t: TimingProfile, kind: ResetKind): number =>
  t.reenumerateAfter?.[kind] ?? t.reenumerateMs;

/** Erasing the OTA sectors that cover `bytes` (HAL_FLASH_Begin erases only what the update needs). */
export const otaEraseMs = (t: TimingProfile, bytes: number): number =>
  Math.ceil(bytes / t.otaSectorSize) * t.otaEraseMsPerSector;

export const otaProgramMs = (t: TimingProfile, bytes: number): number => (bytes / 1024) * t.otaProgramMsPerKb;

export const ncpUpdateMs = (t: TimingProfile, bytes: number): number =>
  t.ncpUpdateMs + (bytes / 1024) * t.ncpUpdateMsPerKb;

import type { Platform } from '../platforms';
import type { PrefixRule } from './modules';

/**
 * Where each kind of module lives on each platform family, and where a normal-mode update is
 * staged: the simulator's copy of Device OS's `module_bounds_t` tables (hal/src/nRF52840 and
 * hal/src/rtl872x ota_module_bounds.c at 6.2.0; hal/src/photon and hal/src/electron at 2.3.0,
 * the last Device OS for Gen 2). Validation looks a module up by function and index and checks that
 * its end address falls inside the bounds (ota_module.cpp fetch_module).
 */

export interface ModuleBounds {
  readonly func: number;
  readonly index: number;
  readonly start: number;
  /** Inclusive upper limit for the module's end address (Device OS in_range is inclusive). */
  readonly end: number;
  /** RTL872x user parts grow down: the end is fixed and the start may be anywhere in [end − max, end]. */
  readonly maxSize?: number;
  /** NCP firmware: on the NCP's own flash, never written into the MCU's. */
  readonly external?: boolean;
}

export interface UpdateLayout {
  readonly bounds: readonly ModuleBounds[];
  /** The OTA (scratchpad) area: START refuses a size of 0 or larger than this (-1351). */
  readonly otaSize: number;
  /** NCP identifiers this platform can update (HAL_PLATFORM_NCP_UPDATABLE: Argon and Tracker ESP32 = 0x21). */
  readonly updatableNcps: readonly number[];
  readonly prefixRule: PrefixRule;
}

const PLATFORM_NCP_ESP32 = 0x21;

const NRF52840_BOUNDS: readonly ModuleBounds[] = [
  { func: 2, index: 0, start: 0x000f4000, end: 0x00100000 },
  { func: 4, index: 1, start: 0x00028000, end: 0x000b4000 },
  { func: 5, index: 1, start: 0x000d4000, end: 0x000f4000 },
  { func: 5, index: 2, start: 0x000b4000, end: 0x000f4000 },
  { func: 8, index: 0, start: 0x00001000, end: 0x00027000 },
];

const RTL872X_BOUNDS: readonly ModuleBounds[] = [
  { func: 2, index: 0, start: 0x08004000, end: 0x08014000 },
  { func: 2, index: 1, start: 0x08000000, end: 0x08002000 },
  { func: 2, index: 2, start: 0x08014000, end: 0x0805e000 },
  { func: 4, index: 1, start: 0x08060000, end: 0x081e0000 },
  { func: 5, index: 1, start: 0x08480000, end: 0x08600000, maxSize: 0x180000 },
];

const PHOTON_BOUNDS: readonly ModuleBounds[] = [
  { func: 2, index: 0, start: 0x08000000, end: 0x08004000 },
  { func: 4, index: 1, start: 0x08020000, end: 0x08060000 },
  { func: 4, index: 2, start: 0x08060000, end: 0x080a0000 },
  { func: 5, index: 1, start: 0x080a0000, end: 0x080c0000 },
];

const ELECTRON_BOUNDS: readonly ModuleBounds[] = [
  { func: 2, index: 0, start: 0x08000000, end: 0x08004000 },
  { func: 4, index: 1, start: 0x08020000, end: 0x08040000 },
  { func: 4, index: 2, start: 0x08040000, end: 0x08060000 },
  { func: 4, index: 3, start: 0x08060000, end: 0x08080000 },
  { func: 5, index: 1, start: 0x08080000, end: 0x080a0000 },
];

const NCP_BOUNDS: ModuleBounds = { func: 7, index: 0, start: 0, end: 1500 * 1024, external: true };

export const updateLayoutFor = (platform: Platform): UpdateLayout => {
  switch (platform.mcu) {
    case 'nRF52840': {
      // Argon (12) and Tracker (26) can update their ESP32 (hal/src/argon, hal/src/tracker).
      const ncp = platform.id === 12 || platform.id === 26;
      return {
        bounds: ncp ? [...NRF52840_BOUNDS, NCP_BOUNDS] : NRF52840_BOUNDS,
        otaSize: 1500 * 1024, // EXTERNAL_FLASH_OTA_LENGTH
        updatableNcps: ncp ? [PLATFORM_NCP_ESP32] : [],
        prefixRule: 'nRF52840',
      };
    }
    case 'RTL872x':
      return { bounds: RTL872X_BOUNDS, otaSize: 0x180000, updatableNcps: [], prefixRule: 'RTL872x' };
    case 'STM32F205':
      return platform.id === 10
        ? { bounds: ELECTRON_BOUNDS, otaSize: 0x20000, updatableNcps: [], prefixRule: 'STM32F2' }
        : { bounds: PHOTON_BOUNDS, otaSize: 0x40000, updatableNcps: [], prefixRule: 'STM32F2' };
    default:
      return { bounds: [], otaSize: 0, updatableNcps: [], prefixRule: 'none' };
  }
};

/** find_module_bounds + the in_range check of fetch_module: where a module with this end may live. */
export const boundsFor = (
  layout: UpdateLayout,
  func: number,
  index: number,
  end: number,
): ModuleBounds | undefined => {
  const b = layout.bounds.find((x) => x.func === func && x.index === index);
  if (!b) return undefined;
  const low = b.maxSize === undefined ? b.start : b.end - b.maxSize;
  return end >= low && end <= b.end ? b : undefined;
};

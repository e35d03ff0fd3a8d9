import type { LsError } from '../errors/result';

/**
 * Every refusal of a firmware file, by code. The title is what a UI shows in a list; the message
 * built at the refusal site says what exactly is wrong with which file; the remedy says what to do.
 */
export const FIRMWARE_ERRORS = {
  FIRMWARE_UNREADABLE: {
    title: 'File cannot be read',
    remedy: 'Check the path and the file permissions.',
  },
  FIRMWARE_EMPTY: {
    title: 'Empty file',
    remedy: 'Download or build the firmware again; the file has no bytes.',
  },
  FIRMWARE_TRUNCATED: {
    title: 'Truncated file',
    remedy: 'The file is cut short; download or build it again.',
  },
  FIRMWARE_NOT_A_MODULE: {
    title: 'Not a Particle module',
    remedy:
      'Use a module binary built for Particle, a .dfu file, or give a raw image its address as FILE@0xADDRESS.',
  },
  FIRMWARE_BAD_EXTENSION: {
    title: 'Malformed module extension',
    remedy: 'The module metadata is damaged; rebuild the module.',
  },
  FIRMWARE_BAD_PREFIX: {
    title: 'Damaged module prefix',
    remedy:
      "The module's prefix (start and end address, platform, function) contradicts the file, so the station cannot tell what the module is; build or download it again.",
  },
  FIRMWARE_BAD_SUFFIX: {
    title: 'Damaged module suffix',
    remedy:
      "The module's suffix size does not fit the file, so its product ID cannot be read; build or download the module again.",
  },
  FIRMWARE_CRC_MISMATCH: {
    title: 'CRC mismatch',
    remedy: 'The file is damaged or was edited after it was built; download or build it again.',
  },
  FIRMWARE_SHA_MISMATCH: {
    title: 'SHA-256 mismatch',
    remedy: 'The file is damaged or was edited after it was built; download or build it again.',
  },
  FIRMWARE_UNKNOWN_PLATFORM: {
    title: 'Unknown platform',
    remedy: 'Build the firmware for a Particle platform this station supports.',
  },
  FIRMWARE_WRONG_PLATFORM: {
    title: 'Wrong platform',
    remedy: "Use the firmware built for the product's platform.",
  },
  FIRMWARE_WRONG_PRODUCT: {
    title: 'Wrong product',
    remedy:
      "Build the application with PRODUCT_ID set to this product's ID (or download it from the product's firmware page).",
  },
  FIRMWARE_OUT_OF_REGION: {
    title: 'Does not fit the flash map',
    remedy: "Build the module for this platform's flash layout.",
  },
  FIRMWARE_TOO_LARGE: {
    title: 'Too large',
    remedy: 'Reduce the application size below the limit for this platform.',
  },
  FIRMWARE_COMPRESSED: {
    title: 'Compressed module',
    remedy: 'DFU writes bytes as they are: use the uncompressed module binary.',
  },
  FIRMWARE_ENCRYPTED: {
    title: 'Encrypted module',
    remedy: 'DFU writes bytes as they are: use the unencrypted module binary.',
  },
  FIRMWARE_NOT_DFU_MODULE: {
    title: 'Not written over DFU',
    remedy:
      'Remove it from the DFU set; this kind of module is updated in normal mode (OTA or Particle CLI), not over DFU.',
  },
  FIRMWARE_READ_ONLY_REGION: {
    title: 'Read-only over DFU',
    remedy:
      "The platform's DFU bootloader protects this region; update this module in normal mode (OTA or Particle CLI).",
  },
  FIRMWARE_NO_NCP: {
    title: 'No NCP on this platform',
    remedy:
      "Remove the NCP file from the set: only the Argon and Tracker have an NCP (network co-processor) that takes Particle's NCP firmware.",
  },
  FIRMWARE_MODULE_NOT_INSTALLABLE: {
    title: 'Not a module the station installs',
    remedy:
      'Remove it from the set: the station installs bootloaders, radio stacks (Gen 3), NCP firmware, system parts, applications and assets.',
  },
  FIRMWARE_PROTECTED_BOOTLOADER: {
    title: 'Protected bootloader for an open product',
    remedy:
      'Use the open bootloader from the Device OS release; a product without Device Protection must not protect its devices (set deviceProtection in the profile if the product has it).',
  },
  FIRMWARE_BELOW_PROTECTION_MINIMUM: {
    title: 'Too old for Device Protection',
    remedy:
      'Use Device OS 6.1.1 or later (system parts 6101+, bootloader 3001+): a protected device refuses older modules.',
  },
  FIRMWARE_DEVICE_DEPENDENCY_UNMET: {
    title: 'The device lacks a dependency',
    remedy: 'Add the module the device lacks to the set, at the version the set needs.',
  },
  FIRMWARE_DEPENDENCY_UNMET: {
    title: 'Dependency not satisfied',
    remedy:
      'Add the required module to the set, or state the Device OS version the devices already run (--device-os).',
  },
  FIRMWARE_DUPLICATE_MODULE: {
    title: 'Duplicate module',
    remedy: 'Keep one file per module in the set.',
  },
  FIRMWARE_OVERLAP: {
    title: 'Images overlap',
    remedy: 'Two images would write the same flash; keep only one of them.',
  },
  FIRMWARE_NO_APPLICATION: {
    title: 'No application',
    remedy: "Add the product's user part (application binary) to the set.",
  },
  FIRMWARE_SET_EMPTY: {
    title: 'No firmware',
    remedy: 'Add the firmware files to flash, or use the OTA-on-setup mode.',
  },
  FIRMWARE_CANNOT_PROTECT: {
    title: 'Cannot be sealed as protected',
    remedy:
      "Use the product's unmodified, uncompressed bootloader binary (Device OS release or Particle's download), or a bootloader built as protected.",
  },
  DFUSE_BAD_PREFIX: {
    title: 'Not a DfuSe file',
    remedy: 'The .dfu file is damaged; build it again (for example with dfu-suffix / dfuse-pack).',
  },
  DFUSE_BAD_SUFFIX: {
    title: 'Bad DFU suffix',
    remedy: 'The .dfu file is damaged; build it again, or check it with `dfu-suffix --check`.',
  },
  DFUSE_CRC_MISMATCH: {
    title: 'DFU suffix CRC mismatch',
    remedy: 'The .dfu file is damaged or was edited; build it again.',
  },
  DFUSE_BAD_STRUCTURE: {
    title: 'Malformed DfuSe targets',
    remedy: 'The target or element sizes in the .dfu file do not add up; build it again.',
  },
  RAW_BAD_ADDRESS: {
    title: 'Bad raw image address',
    remedy: 'Give the address in hex, like firmware.bin@0x080A0000.',
  },
} as const satisfies Record<string, { title: string; remedy: string }>;

export type FirmwareErrorCode = keyof typeof FIRMWARE_ERRORS;

/** Builds the LsError for a code, with the table's remedy unless the site has a better one. */
export const firmwareError = (
  code: FirmwareErrorCode,
  message: string,
  details?: Record<string, unknown>,
  remedy?: string,
): LsError<FirmwareErrorCode> => ({
  code,
  message,
  remedy: remedy ?? FIRMWARE_ERRORS[code].remedy,
  ...(details ? { details } : {}),
});

export const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0').toUpperCase()}`;

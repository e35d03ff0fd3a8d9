import type { Platform } from '../platforms';

/*
 * Which kinds of module a platform takes beyond bootloader, system and user parts. Facts from
 * Particle's platform definitions (the firmware modules each platform lists, as particle-cli reads
 * them) and Device OS's platform configuration; kept here because only installing firmware needs them.
 */

/**
 * Platforms with an NCP (an ESP32 network co-processor, "externalMcu" storage) that takes Particle's
 * NCP firmware: Argon (12), A SoM (22, not sold) and Tracker (26). Boron, B SoM and the RTL872x
 * platforms have none: their radios take no NCP module.
 */
const NCP_PLATFORMS: ReadonlySet<number> = new Set([12, 22, 26]);

export const hasNcp = (p: Platform): boolean => NCP_PLATFORMS.has(p.id);

/** The nRF52840 platforms keep a radio stack (Nordic's SoftDevice) as a module of its own. */
export const hasRadioStack = (p: Platform): boolean => p.mcu === 'nRF52840';

/**
 * Device OS unpacks compressed modules it receives (HAL_PLATFORM_COMPRESSED_OTA) on Gen 3 and the
 * RTL872x platforms; Gen 2 and the Core do not. DFU never does: it writes bytes as they are.
 */
export const unpacksCompressedModules = (p: Platform): boolean => p.generation >= 3;

import type { Platform } from '../platforms';

/**
 * What a given Device OS release does, for the behaviours that changed between releases. Each
 * threshold names the release (and the Device OS source) where the behaviour appeared, so a
 * simulated device on an older release answers as that release did.
 */
export interface DeviceOsFeatures {
  /** 5.6.0: GetModuleInfoReply.modules (field 2, cloud FirmwareModule with SHA-256); before, field 1. */
  readonly newModuleInfo: boolean;
  /**
   * Before 4.0.0, on nRF52840 only (HAL_PLATFORM_DCT_SETUP_DONE): SET/IS_DEVICE_SETUP_DONE read and
   * write one DCT byte, and a device without it boots into listening mode
   * (system/src/control/config.cpp, system_network_manager_api.cpp testAndClearListeningModeFlag).
   */
  readonly setupDoneFlag: boolean;
  /** 4.0.0: setup done is deprecated: SET done=true is a no-op, done=false -120, IS is always true. */
  readonly setupDoneNoOp: boolean;
  /** 5.5.0: asset modules (HAL_PLATFORM_ASSETS on Gen 3 and RTL872x). */
  readonly assets: boolean;
  /** 6.0.0: Device Protection (services/src/security_mode.cpp), GetProtectedStateRequest 76. */
  readonly protection: boolean;
  /** 6.1.1: Service Mode: SetProtectedStateRequest 77, `overridden` in 76, DfuSe 0xFA listed. */
  readonly serviceMode: boolean;
  /** 6.1.2: DFU string descriptor 0xFA `sm=o|p|s`, DfuSe 0xFB CLEAR_SECURITY_MODE_OVERRIDE. */
  readonly dfuDeviceState: boolean;
}

const parse = (v: string): [number, number, number] => {
  const [a = 0, b = 0, c = 0] = v
    .split(/[.+-]/)
    .slice(0, 3)
    .map((x) => Number.parseInt(x, 10) || 0);
  return [a, b, c];
};

/** `version` ≥ major.minor.patch (pre-release suffixes are ignored: 6.2.0-rc.1 counts as 6.2.0). */
export const versionAtLeast = (version: string, major: number, minor: number, patch = 0): boolean => {
  const [a, b, c] = parse(version);
  if (a !== major) return a > major;
  if (b !== minor) return b > minor;
  return c >= patch;
};

/**
 * Gen 2 (and the Core) never ran Device OS 4 or later, so a simulated one configured with a newer
 * version still gets none of the Gen 3+ features (assets, Device Protection).
 */
export const deviceOsFeatures = (version: string, platform: Platform): DeviceOsFeatures => {
  const gen3 = platform.generation >= 3;
  return {
    newModuleInfo: versionAtLeast(version, 5, 6),
    setupDoneFlag: !versionAtLeast(version, 4, 0) && platform.mcu === 'nRF52840',
    setupDoneNoOp: versionAtLeast(version, 4, 0),
    assets: gen3 && versionAtLeast(version, 5, 5),
    protection: gen3 && versionAtLeast(version, 6, 0),
    serviceMode: gen3 && versionAtLeast(version, 6, 1, 1),
    dfuDeviceState: gen3 && versionAtLeast(version, 6, 1, 2),
  };
};

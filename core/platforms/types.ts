/** Particle's USB vendor ID, shared by every platform in normal, listening and DFU mode. */
export const PARTICLE_VENDOR_ID = 0x2b04;

export type Generation = 1 | 2 | 3 | 4;
export type Mcu = 'STM32F103' | 'STM32F205' | 'nRF52840' | 'RTL872x';

/** One DFU alternate setting as a real Particle bootloader presents it. */
export interface DfuAltSetting {
  readonly alt: number;
  /** The interface string, e.g. `@Internal Flash /0x08000000/03*016Ka,...`. */
  readonly layout: string;
}

/** Where the application (user part) lives in the internal flash. */
export interface UserPartRegion {
  /** Start address of the user part on current Device OS. */
  readonly start: number;
  readonly maxSize: number;
  /**
   * RTL872x user parts grow downward from `end`: the module's start address depends on its size,
   * so validation checks that the module ends at `end` rather than starts at `start`.
   */
  readonly growsDown: boolean;
  /** The exclusive end of the user-part region. */
  readonly end: number;
  /** Gen 3 devices before Device OS 3.1 kept a 128 KB user part at 0xD4000. */
  readonly legacyStart?: number;
}

export interface Platform {
  readonly id: number;
  /** Particle's short name, as used on the CLI and in profiles (`photon`, `boron`, `p2`). */
  readonly name: string;
  readonly displayName: string;
  readonly generation: Generation;
  readonly mcu: Mcu;
  readonly cellular: boolean;
  /** Deprecated platforms are recognised (so their files inspect cleanly) but not offered for new products. */
  readonly deprecated: boolean;
  readonly usb: {
    readonly vendorId: number;
    readonly normalProductId: number;
    readonly dfuProductId: number;
    /** Gen 1 (Core) uses another vendor's IDs in DFU mode. */
    readonly dfuVendorId: number;
  };
  readonly dfu: {
    /** Alt 0 is always the internal flash; the rest are DCT/config and external flash. */
    readonly altSettings: readonly DfuAltSetting[];
    readonly transferSize: number;
    /** RTL872x: a zero-length OUT control request must carry a 1-byte data stage. */
    readonly zeroLengthOutNeedsByte: boolean;
    /** Gen 2: after leave the device stays in dfuDNLOAD-IDLE and resets by itself. */
    readonly leaveStaysInDnloadIdle: boolean;
  };
  readonly flash: {
    /** The internal flash range a DFU write may target (from the alt 0 layout). */
    readonly internalStart: number;
    readonly internalEnd: number;
    readonly userPart: UserPartRegion;
  };
}

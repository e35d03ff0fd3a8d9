import type { KeyObject } from 'node:crypto';
import type { Platform } from '../platforms';
import type { DfuStatusName } from './dfu-constants';
import type { IccidFault, SimIdentity } from './identity';
import type { TimingProfile } from './timing';

/** A raw USB setup packet, as ep0 sees it (USB 2.0 §9.3); FunctionFS delivers exactly this. */
export interface SetupPacket {
  readonly bmRequestType: number;
  readonly bRequest: number;
  readonly wValue: number;
  readonly wIndex: number;
  readonly wLength: number;
}

/**
 * How the device ends a control transfer:
 * - `ok`: status stage ACKed; IN transfers carry `data` (at most wLength bytes, may be shorter).
 * - `stall`: the device STALLed ep0 (request error).
 * - `nak`: the device never completes the transfer (it NAKs until the host gives up: a timeout).
 * - `disconnected`: the device dropped off the bus while handling it.
 */
export type ControlResult =
  | { readonly status: 'ok'; readonly data?: Uint8Array }
  | { readonly status: 'stall' }
  | { readonly status: 'nak' }
  | { readonly status: 'disconnected' };

/** Normal (application running), listening (setup mode), or the DFU bootloader. */
export type SimMode = 'normal' | 'listening' | 'dfu';

export type SimDeviceEvent =
  /** The device dropped off the bus (reset, leave, pulled cable, fault). */
  | { readonly type: 'disconnect'; readonly reason: string }
  /**
   * The device enumerated again, possibly in another mode and with another identity. `movedTo` is
   * set only by the "comes back on another port" fault: an opaque port path for the bus to use.
   */
  | { readonly type: 'connect'; readonly mode: SimMode; readonly movedTo?: string };

/** One firmware module the device reports in MODULE_INFO (function codes as in the module prefix). */
export interface SimModule {
  /** Module function: 2 bootloader, 3 mono, 4 system part, 5 user part, 7 NCP, 8 radio stack. */
  readonly func: number;
  readonly index: number;
  readonly version: number;
  readonly size: number;
  readonly maxSize?: number;
  readonly dependencies?: readonly {
    readonly func: number;
    readonly index: number;
    readonly version: number;
  }[];
  /** Validation flags that failed (integrity 0x02, dependencies 0x04, range 0x08, platform 0x10). */
  readonly failedFlags?: number;
  /**
   * The 32 bytes Device OS ≥ 5.6 reports as the module's SHA-256: the SHA field of the module
   * suffix (zeros for an NCP module). Default: derived from type/index/version.
   */
  readonly hash?: Uint8Array;
  /** A bootloader with the SECURITY_MODE suffix extension, mode 1: the device is protected. */
  readonly protected?: boolean;
}

/** The Device Protection state as the host sees it (Device OS ≥ 6.0). */
export type ProtectionState = 'open' | 'protected' | 'service';

/**
 * Faults are chosen per device. Counters are 1-based ("the 3rd request"). Each fires as described
 * and is then spent unless noted.
 */
export interface SimFaults {
  /** Drop off the bus once this many firmware bytes have been downloaded (DFU DNLOAD data). */
  readonly disconnectAfterBytes?: number;
  /** Drop off the bus in the middle of the k-th sector erase (1 = the first). */
  readonly disconnectDuringErase?: number;
  /** STALL the k-th control request the device receives (counting every request). */
  readonly stallOnRequest?: number;
  /** From the k-th DFU download/erase operation on, GETSTATUS reports dfuDNBUSY forever. */
  readonly stuckBusyFrom?: number;
  /** After programming the block covering `address`, flip `bit` of that byte (readback catches it). */
  readonly flipBitAfterProgram?: { readonly address: number; readonly bit: number };
  /** The k-th GETSTATUS reports `status` (and dfuERROR) instead of the truth. */
  readonly wrongStatus?: { readonly onGetStatus: number; readonly status: DfuStatusName };
  /** Multiply every modelled time by this (a slow device). */
  readonly slowFactor?: number;
  /** After a reset (leave, DFU_MODE, RESET) the device never enumerates again. */
  readonly neverComesBack?: boolean;
  /** After the next reset the device enumerates with this device ID instead of its own. */
  readonly comesBackWithId?: string;
  /** After the next reset the device enumerates on this port path instead (bus-level). */
  readonly comesBackOnPort?: string;
  /** Drop off the bus while handling the k-th Particle control service request (INIT/CHECK/...). */
  readonly dropOffOnServiceRequest?: number;
  /** Answer the first N control-request INITs with BUSY. */
  readonly busyReplies?: number;
  /**
   * The iSerialNumber reported in DFU mode instead of the device ID (old Gen 2 bootloaders report
   * a short serial; the ID must then be confirmed in normal mode).
   */
  readonly dfuSerialNumber?: string;
  /**
   * Normal-mode firmware update refused with this Device OS result code, `times` times (default
   * 1), at the step where Device OS produces it: START for -210 (another update running), -1380
   * (updates disabled), -120 (format), -1351 (size); DATA for -290; FINISH for the validation
   * codes (-1300, -1310, -1330, -1340, -1350, -1360, -1370, -1801) and anything else. A refused
   * START or DATA cancels the transfer, as Device OS does.
   */
  readonly refuseUpdate?: { readonly result: number; readonly times?: number };
  /** The device resets halfway through applying an NCP update (after FINISH): the NCP keeps its old version. */
  readonly resetDuringNcpUpdate?: boolean;
  /** FINISH is accepted and the device resets, but the module is not applied: it comes back with the old version. */
  readonly updateNotApplied?: boolean;
  /** The setup-done flag (Gen 3, Device OS < 4) is lost at the next reset: the device boots into listening mode. */
  readonly setupDoneLost?: boolean;
  /**
   * From the k-th boot (reset or power-on) on, the device is protected, as if the cloud had turned
   * on Device Protection and installed a protected bootloader (Device OS ≥ 6.0).
   */
  readonly protectAfterResets?: number;
  /** The serial number cannot be read (blank or damaged OTP): GET_SERIAL_NUMBER fails, `i` omits it. */
  readonly serialUnreadable?: boolean;
  /**
   * The ICCID cannot be read: `no-sim` (AT+CCID fails, -1200) or `modem-off` (the modem never
   * becomes ready after the power-up time, -160). The listening-mode `i` prints empty IMEI/ICCID.
   */
  readonly iccidUnreadable?: IccidFault;
}

export interface DeviceOsInfo {
  /** Semantic version string, e.g. `6.2.1`. */
  readonly version: string;
  /** Module version number of the system part (Device OS 6.2.1 → 6201 style). */
  readonly systemModuleVersion: number;
  /** false: an old Device OS that ignores Particle control requests (only the 14400-baud trick works). */
  readonly controlRequests: boolean;
}

export interface SimDeviceOptions {
  /** A platform object or its short name (`boron`, `p2`, ...). */
  readonly platform: Platform | string;
  /** 24 lower-case hex characters; default derived from `seed`. */
  readonly deviceId?: string;
  /** Used to derive a stable device ID when none is given. */
  readonly seed?: string | number;
  /** The mode the device powers up in (default `normal`). */
  readonly mode?: SimMode;
  readonly deviceOs?: Partial<DeviceOsInfo>;
  /** Overrides on the platform's timing profile. */
  readonly timing?: Partial<TimingProfile>;
  /** Scales every modelled delay: 1 = real time (benchmarks), 0.001 or 0 in tests. Default 1. */
  readonly timeScale?: number;
  readonly faults?: SimFaults;
  /** Modules reported by MODULE_INFO; default: a bootloader, system part and user part. */
  readonly modules?: readonly SimModule[];
  /**
   * Gen 3 on Device OS < 4.0: the persistent setup-done flag (DCT). Default true; a device without
   * it boots into listening mode. Ignored elsewhere (Device OS ≥ 4 always reports done).
   */
  readonly setupDone?: boolean;
  /**
   * Device Protection at power-up (Device OS ≥ 6.0; `service` needs ≥ 6.1.1). `protected` marks the
   * bootloader as carrying the SECURITY_MODE extension; `service` is protected with the override on
   * (20 resets / 24 h). Default `open`.
   */
  readonly protection?: ProtectionState;
  /**
   * The Particle Cloud public key the device holds (DCT), against which Service Mode CONFIRM
   * signatures are checked. Default: the simulator's own cloud key (`simCloudKeys()`).
   */
  readonly serverPublicKey?: KeyObject;
  /** false: the application disabled updates (System.disableUpdates): START answers -1380. Default true. */
  readonly updatesEnabled?: boolean;
  /**
   * Serial number, IMEI and ICCID the device is made with (core/sim/identity.ts); each defaults to
   * one derived from the device ID. `serialNumber: null` = never programmed.
   */
  readonly identity?: SimIdentity;
}

/** The device's own accounting, for benchmarks (unscaled milliseconds). */
export interface SimStats {
  /** Sum of modelled transfer, erase, program and poll times. */
  inherentMs: number;
  controlTransfers: number;
  bytesIn: number;
  bytesOut: number;
  sectorsErased: number;
  bytesProgrammed: number;
  reenumerations: number;
}

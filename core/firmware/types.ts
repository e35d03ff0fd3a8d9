import type { LsError } from '../errors/result';

/** Particle's module function codes (prefix byte 14), by the names Particle's tools print. */
export type ModuleFunctionName =
  | 'none'
  | 'resource'
  | 'bootloader'
  | 'mono'
  | 'system'
  | 'user'
  | 'settings'
  | 'ncp'
  | 'radio'
  | 'asset';

/** Index = the function code in the prefix. */
export const MODULE_FUNCTIONS: readonly ModuleFunctionName[] = [
  'none',
  'resource',
  'bootloader',
  'mono',
  'system',
  'user',
  'settings',
  'ncp',
  'radio',
  'asset',
];

/** A function code we have no name for is kept as its number, as Particle's parser does. */
export interface ModuleDependency {
  function: ModuleFunctionName | number;
  index: number;
  version: number;
}

/** One suffix or prefix extension record (type/length), located in the file. */
export interface ModuleExtension {
  type: number;
  /** Offset of the record in the file. */
  offset: number;
  length: number;
}

export interface ModuleInfo {
  prefixOffset: number;
  startAddress: number;
  endAddress: number;
  flags: number;
  flagNames: string[];
  version: number;
  platformId: number;
  /** Our platform table's short name; undefined for a platform we do not know. */
  platform: string | undefined;
  function: ModuleFunctionName | number;
  index: number;
  /** Both prefix dependencies, as parsed (a `none` dependency is kept). */
  dependencies: ModuleDependency[];
  /** -1 when the suffix is too short to hold them; 0xFFFF on a non-product build. */
  productId: number;
  productVersion: number;
  suffixSize: number;
  /** The SHA-256 stored in the suffix, 64 lower-case hex chars. */
  fwUniqueId: string;
  /** CRC-32 over the whole file but its last 4 bytes; 8 lower-case hex chars each. */
  crc: { ok: boolean; stored: string; actual: string };
  /** Whether `fwUniqueId` is the SHA-256 of the file as Device OS computes it; `actual` is ours. */
  hash: { ok: boolean; actual: string };
  /** Extension records in the suffix, then in the prefix (PREFIX_EXTENSIONS flag). */
  extensions: ModuleExtension[];
  /**
   * The mode byte of a SECURITY_MODE record (0x0013), as Particle's parser reports it: 1 is a
   * protected module (Device Protection), 0 an open one. Absent when the module has no such record.
   */
  securityMode?: number;
  /**
   * The SHA-256 in a HASH record (0x0010), 64 lower-case hex characters: for an asset, the hash of
   * its contents, which Device OS reports for the assets it holds. Absent without such a record.
   */
  contentHash?: string;
  /**
   * Why the station does not trust the fields above (FIRMWARE_BAD_PREFIX, FIRMWARE_BAD_SUFFIX,
   * FIRMWARE_NOT_A_MODULE): a prefix or suffix that contradicts the file. The fields are still what
   * Particle's parser reads; the module is refused.
   */
  identityError?: LsError;
}

/** One contiguous piece of flash to write over DFU. */
export interface FlashImage {
  /** For people: the file name, plus the element for .dfu files. */
  label: string;
  /** DFU alternate setting (0 = internal flash). */
  alt: number;
  address: number;
  data: Uint8Array;
  /** Present when the image is a Particle module. */
  module?: ModuleInfo;
  /**
   * The whole module file, when `data` leaves its prefix out (DROP_MODULE_INFO): what a
   * normal-mode update would send, since Device OS validates the module it receives.
   */
  moduleBytes?: Uint8Array;
}

export interface DfuseElement {
  address: number;
  size: number;
  /** Offset of the element's data in the file. */
  dataOffset: number;
}

export interface DfuseTarget {
  alt: number;
  /** The target name when the file names it. */
  name: string | undefined;
  size: number;
  elements: DfuseElement[];
}

export interface DfuseInfo {
  /** DfuSe format version from the prefix (1). */
  version: number;
  /** Image size the prefix declares: the file without its 16-byte suffix (ST's tools) or with it (dfuse-pack). */
  imageSize: number;
  targets: DfuseTarget[];
  suffix: { bcdDevice: number; idProduct: number; idVendor: number; bcdDFU: number; length: number };
  /** The suffix CRC (complement of IEEE CRC-32 over all but the last 4 bytes), 8 hex chars. */
  crc: { ok: boolean; stored: string; actual: string };
}

export type FileKind = 'module' | 'dfuse' | 'raw';

export interface InspectedFile {
  file: string;
  size: number;
  /** SHA-256 of the whole file, 64 lower-case hex chars. */
  sha256: string;
  kind: FileKind;
  module?: ModuleInfo;
  dfuse?: DfuseInfo;
  /** What would be written over DFU; empty when the file could not be parsed. */
  images: FlashImage[];
  /** The first problem with the file itself (parse, integrity, platform, region). */
  error?: LsError;
}

export type ProgrammingMode = 'flash-on-line' | 'ota-on-setup';

export interface ProductTarget {
  platformId: number;
  /** 0: no product (an engineer's bench flash), so an application's product ID is not checked. */
  productId: number;
  mode: ProgrammingMode;
  /** Device OS version (module version, e.g. 5600 for 5.6.0) the devices already run, if known. */
  deviceOsVersion?: number;
}

/** How a module reaches the device: a normal-mode firmware update (control requests 250–253) or DFU. */
export type InstallPath = 'normal' | 'dfu';

/** A module the device reports it runs (GET_MODULE_INFO at identify); `DeviceModule` fits. */
export interface InstalledModule {
  readonly function: ModuleFunctionName | number;
  readonly index: number;
  readonly version: number;
  /** The SHA-256 Device OS reports for it (5.6 and later), 64 hex characters. */
  readonly hash?: string | undefined;
}

/** An asset the device holds, as Device OS lists it: its name and the SHA-256 of its contents. */
export interface InstalledAsset {
  readonly name: string;
  readonly hash: string;
}

/** A product, plus what is known of the device a plan is for (all optional: a profile check knows none of it). */
export interface PlanTarget extends ProductTarget {
  /** What the device runs, read at identify; dependencies the set does not carry are checked against it. */
  deviceModules?: readonly InstalledModule[] | undefined;
  /** Assets the device holds; an asset step with the same name and SHA-256 is skipped. */
  deviceAssets?: readonly InstalledAsset[] | undefined;
  /** The device is in DFU mode already: DFU steps first, so a device with a broken Device OS is repaired. */
  alreadyInDfu?: boolean | undefined;
  /**
   * Install as for a protected device (the product declares Device Protection, or the device says
   * it is protected): no system part below 6101, no bootloader below 3001, the bootloader sealed
   * as protected before it is sent.
   */
  deviceProtection?: boolean | undefined;
  /** Skip a module the device already runs at the same version (and SHA-256, where both are known). */
  skipWhenCurrent?: boolean | undefined;
}

/** A whole module for a normal-mode update: the device receives the file, prefix to CRC, and validates it. */
export interface NormalModuleImage {
  label: string;
  data: Uint8Array;
  module: ModuleInfo;
}

/** What a step installs; the path follows from it (Particle CLI's createFlashSteps). */
export type PlanStepKind =
  | 'bootloader'
  | 'ncp'
  | 'asset'
  | 'radio-stack'
  | 'mono'
  | 'system'
  | 'user'
  | 'legacy-user-part'
  | 'raw';

interface PlanStepBase {
  kind: PlanStepKind;
  /** The module as it will be installed (the sealed one for a protected bootloader); absent for raw images. */
  module: ModuleInfo | undefined;
  /** The model's estimate for this step alone (core/firmware/install-timing.ts), in ms; 0 when skipped. */
  expectedMs: number;
  /** Why this path, in a sentence. */
  reason: string;
  /** Nothing is written: the device has this asset already, or runs this module (skipWhenCurrent). */
  skip?: 'asset-present' | 'current';
  /** The bootloader was sealed as protected for this plan. */
  protected?: true;
}

/** Written over DFU: alt setting, address and bytes (a radio stack without its prefix, where it drops it). */
export interface DfuPlanStep extends PlanStepBase {
  path: 'dfu';
  image: FlashImage;
}

/** Sent whole through a normal-mode firmware update; Device OS validates and applies it. */
export interface NormalPlanStep extends PlanStepBase {
  path: 'normal';
  image: NormalModuleImage;
  module: ModuleInfo;
}

export type PlanStep = DfuPlanStep | NormalPlanStep;

/** A module every device must already run, because the set needs it and does not carry it. */
export interface DeviceRequirement {
  function: ModuleFunctionName | number;
  index: number;
  version: number;
  /** Labels of the modules that need it. */
  neededBy: string[];
  /** The sentence an engineer reads. */
  message: string;
}

export interface SetPlan {
  /** In install order. Write nothing unless `errors` is empty. */
  steps: PlanStep[];
  errors: LsError[];
  /** What the devices must already have; checked per device when `deviceModules` is given. */
  requires: DeviceRequirement[];
  /** Every step not skipped, plus the switches between normal and DFU mode, in ms. */
  expectedMs: number;
}

/** What `buildModule` generates; anything left out gets a sensible value for the platform. */
export interface ModuleSpec {
  platformId: number;
  function: ModuleFunctionName | number;
  /** Default: 1 for user and system parts, 0 otherwise. */
  index?: number;
  /** Module version (Device OS 5.6.0 = 5600). Default 6 for user parts, 5600 otherwise. */
  version?: number;
  /** Default: where the platform keeps this function (see builder.ts). */
  startAddress?: number;
  /**
   * The first word of the vector table in front of a prefix at 0x200/0x184 (an initial stack
   * pointer in RAM, e.g. 0x2003fc00): Device OS finds such a prefix only behind one. Default 0.
   */
  initialStackPointer?: number;
  /** Body bytes after the prefix (the "code"). Default: `bodySize` bytes of a seeded pattern. */
  body?: Uint8Array;
  /** Default 256. */
  bodySize?: number;
  /** Seed for the generated body, so generated fixtures are stable. */
  seed?: number;
  /** Default: 0x184 for Gen 2 system/bootloader/mono, 0x200 for Gen 3 ones, else 0. */
  prefixOffset?: number;
  flags?: number;
  /** Up to two; default: a user part depends on system part 1 at `version` 5600 (none otherwise). */
  dependencies?: ModuleDependency[];
  /** Product ID and version in the suffix. `null` writes the 36-byte suffix without them. */
  product?: { id: number; version: number } | null;
  /** Extra suffix extension records (type, payload) placed before the product data. */
  suffixExtensions?: { type: number; payload: Uint8Array }[];
  /** For tests of refusals: write a wrong CRC or a wrong SHA-256. */
  corrupt?: { crc?: boolean; sha?: boolean };
  /**
   * For tests of refusals: fields that lie about the module, sealed with a correct SHA-256 and
   * CRC so only the lie is wrong. `endAddress` replaces start + size − 4 in the prefix;
   * `suffixSize` replaces the suffix's real size in its size field.
   */
  lie?: { endAddress?: number; suffixSize?: number };
}

export interface DfuseSpec {
  targets: { alt: number; name?: string; elements: { address: number; data: Uint8Array }[] }[];
  /** USB IDs in the suffix; default 0xFFFF (any). */
  idVendor?: number;
  idProduct?: number;
  bcdDevice?: number;
  /** Count the suffix in the prefix's image size, as dfuse-pack does (default: leave it out, as ST's tools do). */
  imageSizeWithSuffix?: boolean;
  /** For tests of refusals: write a wrong suffix CRC. */
  corruptCrc?: boolean;
}

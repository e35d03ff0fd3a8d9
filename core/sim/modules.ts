import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SimFlash } from './flash';
import type { SimModule } from './types';

/**
 * Particle module binaries as the simulated Device OS reads them: from flash after a DFU session
 * (so MODULE_INFO reports the versions just written, and a corrupted image shows up as a failed
 * integrity check), and from the OTA area during a normal-mode update.
 *
 * Prefix layout (`module_info_t`, 24 bytes, little-endian): u32 start, u32 end (where the CRC
 * sits), u8 MCU target, u8 flags, u16 version, u16 platform, u8 function, u8 index, then two
 * dependencies (u8 function, u8 index, u16 version). The module occupies [start, end) and is
 * followed by its CRC-32 (IEEE, big-endian). The suffix (`module_info_suffix_base_t`) ends at
 * `end`: u16 reserved, SHA-256, u16 suffix size; extensions (type u16, length u16) start at
 * `end - size` (dynalib/inc/module_info.h).
 */

/** Where a prefix may sit relative to the module start (vector tables, RTL872x image header). */
const PREFIX_OFFSETS = [0, 0x184, 0x200, 0x20, 0xc0, 0x10c];
const MAX_MODULE = 4 * 1024 * 1024;
const INTEGRITY_FAILED = 0x02;
const PREFIX_SIZE = 24;
const SUFFIX_BASE_SIZE = 36;
const EXTENSION_SECURITY_MODE = 0x0013;
const EXTENSION_END = 0x0000;
const SECURITY_MODE_PROTECTED = 1;

/** Module flags (prefix byte 9). */
export const MODULE_FLAG = { DROP_MODULE_INFO: 0x01, COMPRESSED: 0x02, COMBINED: 0x04 } as const;

/** Module functions (prefix byte 14). */
export const MODULE_FUNCTION = {
  BOOTLOADER: 2,
  MONO: 3,
  SYSTEM_PART: 4,
  USER_PART: 5,
  NCP: 7,
  RADIO_STACK: 8,
  ASSET: 9,
} as const;

export interface ModuleDependency {
  readonly func: number;
  readonly index: number;
  readonly version: number;
}

/** A module's facts, read the way Device OS reads them. Offsets are relative to the module start. */
export interface ModuleImage {
  readonly start: number;
  readonly end: number;
  /** Where the prefix sits (0, after a vector table, or after an RTL872x image header). */
  readonly infoOffset: number;
  readonly mcuTarget: number;
  readonly flags: number;
  readonly version: number;
  readonly platformId: number;
  readonly func: number;
  readonly index: number;
  /** The dependencies present (function ≠ 0), for MODULE_INFO. */
  readonly dependencies: readonly ModuleDependency[];
  /** Both dependency slots as stored (function 0 = none): validation treats the slots differently. */
  readonly slots: readonly [ModuleDependency, ModuleDependency];
  /** end − start: the CRC sits right after. */
  readonly length: number;
  readonly crcOk: boolean;
  /** The suffix's SHA field (what Device OS reports as the module hash). */
  readonly sha: Uint8Array;
  /** The suffix carries a SECURITY_MODE extension with mode PROTECTED. */
  readonly protected: boolean;
}

type Reader = (offset: number, length: number) => Uint8Array;

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) + u16(b, o + 2) * 0x10000) >>> 0;

/** Device OS security_mode_find_module_extension: the extensions start at `end - suffix size`. */
const hasProtectedExtension = (read: Reader, moduleEnd: number, suffixSize: number): boolean => {
  if (suffixSize <= SUFFIX_BASE_SIZE + 4 * 2 || suffixSize > moduleEnd) return false;
  for (let o = moduleEnd - suffixSize; o + 4 <= moduleEnd; ) {
    const h = read(o, 5);
    const type = u16(h, 0);
    const length = u16(h, 2);
    if (type === EXTENSION_SECURITY_MODE) return h[4] === SECURITY_MODE_PROTECTED;
    if (type === EXTENSION_END || length < 4) return false;
    o += length;
  }
  return false;
};

const EXTENSION_HASH = 0x0010;
const EXTENSION_NAME = 0x0011;

/** What Device OS keeps for a stored asset (GET_ASSET_INFO): its name and the SHA-256 of its contents. */
export interface SimAsset {
  readonly name: string;
  readonly hash: Uint8Array;
  readonly size: number;
  readonly storageSize: number;
}

/**
 * An asset module's NAME (0x0011) and HASH (0x0010) suffix records, as Device OS reads them when it
 * stores the asset; the contents lie between the 24-byte prefix and the suffix. Without a HASH
 * record the hash is the SHA-256 of the contents.
 */
export const assetOf = (bytes: Uint8Array, m: ModuleImage): SimAsset => {
  const read: Reader = (o, n) => bytes.subarray(o, o + n);
  const suffixSize = u16(read(m.length - 2, 2), 0);
  const contentStart = m.infoOffset + PREFIX_SIZE;
  const contentEnd = Math.max(contentStart, m.length - suffixSize);
  let name = '';
  let hash: Uint8Array | undefined;
  if (suffixSize > SUFFIX_BASE_SIZE && suffixSize <= m.length)
    for (let o = m.length - suffixSize; o + 4 <= m.length - SUFFIX_BASE_SIZE; ) {
      const h = read(o, 4);
      const type = u16(h, 0);
      const length = u16(h, 2);
      if (type === EXTENSION_END || length < 4) break;
      if (type === EXTENSION_NAME && !name)
        name = new TextDecoder().decode(read(o + 4, length - 4)).replace(/\0+$/, '');
      if (type === EXTENSION_HASH && !hash && length > 6) hash = Uint8Array.from(read(o + 6, length - 6));
      o += length;
    }
  const contents = bytes.subarray(contentStart, contentEnd);
  return {
    name,
    hash: hash ?? new Uint8Array(createHash('sha256').update(contents).digest()),
    size: contents.length,
    storageSize: contents.length,
  };
};

/** Reads the module whose prefix is at `infoOffset`; undefined when that is not a sane prefix. */
const readImage = (read: Reader, infoOffset: number): ModuleImage | undefined => {
  const p = read(infoOffset, PREFIX_SIZE);
  const start = u32(p, 0);
  const end = u32(p, 4);
  const length = end - start;
  if (end <= start || length > MAX_MODULE || length < infoOffset + PREFIX_SIZE) return undefined;
  const slot = (o: number): ModuleDependency => ({
    func: p[o] ?? 0,
    index: p[o + 1] ?? 0,
    version: u16(p, o + 2),
  });
  const slots: [ModuleDependency, ModuleDependency] = [slot(16), slot(20)];
  const dependencies = slots.filter((d) => d.func !== 0);
  const body = read(0, length);
  const storedCrc = new DataView(read(length, 4).buffer).getUint32(0, false);
  const suffix = read(length - SUFFIX_BASE_SIZE, SUFFIX_BASE_SIZE);
  return {
    start,
    end,
    infoOffset,
    mcuTarget: p[8] ?? 0,
    flags: p[9] ?? 0,
    version: u16(p, 10),
    platformId: u16(p, 12),
    func: p[14] ?? 0,
    index: p[15] ?? 0,
    dependencies,
    slots,
    length,
    crcOk: crc32(body) >>> 0 === storedCrc,
    sha: suffix.slice(2, 34),
    protected: hasProtectedExtension(read, length, u16(suffix, 34)),
  };
};

/** The MCU families whose rules for finding the prefix differ (Device OS FLASH_ModuleInfo). */
export type PrefixRule = 'STM32F2' | 'nRF52840' | 'RTL872x' | 'none';

const RTL_SIGNATURE_LOW = 0x96969999;
const RTL_SIGNATURE_HIGH = 0xfc66cc3f;

/**
 * Where Device OS looks for the prefix of a module at offset 0 of `bytes`: after the vector table
 * when the first word looks like an initial stack pointer (STM32F2: 0x184, APP_START_MASK
 * 0x2FF10000; nRF52840: 0x200, mask 0x2FFC0000), after the 32-byte image header on RTL872x, else 0.
 */
export const prefixOffset = (first8: Uint8Array, rule: PrefixRule): number => {
  const w0 = u32(first8, 0);
  switch (rule) {
    case 'STM32F2':
      return (w0 & 0x2ff10000) >>> 0 === 0x20000000 ? 0x184 : 0;
    case 'nRF52840':
      return (w0 & 0x2ffc0000) >>> 0 === 0x20000000 ? 0x200 : 0;
    case 'RTL872x':
      return w0 === RTL_SIGNATURE_LOW && u32(first8, 4) === RTL_SIGNATURE_HIGH ? 0x20 : 0;
    default:
      return 0;
  }
};

/**
 * The module at `offset` of an OTA image, found by Device OS's rule (no scanning). Bytes past the
 * end of the image read as erased flash (0xFF), as the OTA area beyond the transfer does.
 */
export const readModuleImage = (
  image: Uint8Array,
  offset: number,
  rule: PrefixRule,
): ModuleImage | undefined => {
  const read: Reader = (o, n) => {
    const out = new Uint8Array(Math.max(0, n)).fill(0xff);
    const from = offset + o;
    if (from < image.length) out.set(image.subarray(from, Math.min(image.length, from + n)));
    return out;
  };
  return readImage(read, prefixOffset(read(0, 8), rule));
};

/** What MODULE_INFO reports for a module read from flash or applied from the OTA area. */
export const toSimModule = (m: ModuleImage): SimModule => ({
  func: m.func,
  index: m.index,
  version: m.version,
  size: m.length + 4,
  dependencies: m.dependencies,
  // The NCP reports its own version only: Device OS has no suffix to take a hash from.
  hash: m.func === MODULE_FUNCTION.NCP ? new Uint8Array(32) : m.sha,
  ...(m.crcOk ? {} : { failedFlags: INTEGRITY_FAILED }),
  ...(m.protected && m.func === MODULE_FUNCTION.BOOTLOADER ? { protected: true } : {}),
});

export const readModuleAt = (flash: SimFlash, start: number, platformId: number): SimModule | undefined => {
  const read: Reader = (o, n) => flash.read(start + o, n);
  for (const offset of PREFIX_OFFSETS) {
    const m = readImage(read, offset);
    if (!m || m.start !== start || m.platformId !== platformId || m.func < 1 || m.func > 9) continue;
    return toSimModule(m);
  }
  return undefined;
};

/**
 * Merges modules found in flash into the list the device reports: a user part replaces every user
 * part (a Gen 3 device on Device OS ≥ 3.1 has one, wherever it starts); others replace the module
 * with the same function and index.
 */
export const mergeModules = (current: readonly SimModule[], found: readonly SimModule[]): SimModule[] => {
  let out = [...current];
  for (const m of found) {
    const maxSize = out.find((x) => x.func === m.func)?.maxSize;
    out = out.filter((x) => (m.func === 5 ? x.func !== 5 : !(x.func === m.func && x.index === m.index)));
    out.push(maxSize === undefined ? m : { ...m, maxSize });
  }
  return out.sort((a, b) => a.func - b.func || a.index - b.index);
};

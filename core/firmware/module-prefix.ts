import { platformById } from '../platforms';
import { u8, u16le, u32le } from './bytes';
import { hex32 } from './errors';
import type { ModuleExtension } from './types';

/** `module_info_t` in Device OS. */
export const PREFIX_SIZE = 24;
/** `module_info_suffix_t` without product data: reserved u16, SHA-256, size u16. */
export const MIN_SUFFIX_SIZE = 36;
/** The smallest thing that can be a module: a prefix, the minimal suffix and the CRC. */
export const MIN_MODULE_SIZE = PREFIX_SIZE + MIN_SUFFIX_SIZE + 4;

export const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [0x01, 'DROP_MODULE_INFO'],
  [0x02, 'COMPRESSED'],
  [0x04, 'COMBINED'],
  [0x08, 'ENCRYPTED'],
  [0x10, 'PREFIX_EXTENSIONS'],
];
export const FLAG_DROP_MODULE_INFO = 0x01;
export const FLAG_COMPRESSED = 0x02;
export const FLAG_ENCRYPTED = 0x08;
export const FLAG_PREFIX_EXTENSIONS = 0x10;
const KNOWN_FLAGS = 0x1f;

export const EXTENSION_END = 0x0000;
export const EXTENSION_PRODUCT_DATA = 0x0001;
export const EXTENSION_HASH = 0x0010;
export const EXTENSION_SECURITY_MODE = 0x0013;
export const EXTENSION_INVALID = 0xffff;

/*
 * Where the prefix usually sits, tried first and in this order, as Particle's parser does: 0 for
 * user parts, 0x200 after the nRF52840 vector table, 0x184 after the STM32F2 one, 0xC0 (Bluz) and
 * 0x10C (Core). The order matters only for ties, and keeping Particle's makes our answer theirs.
 */
export const PREFERRED_PREFIX_OFFSETS: readonly number[] = [0, 0x200, 0x184, 0xc0, 0x10c];
/**
 * Where Device OS puts a prefix: the offsets above, and 0x20, where RTL872x bootloaders (P2,
 * M SoM, Tracker M) keep theirs. A prefix anywhere else was found by scanning.
 */
export const DEVICE_OS_PREFIX_OFFSETS: readonly number[] = [...PREFERRED_PREFIX_OFFSETS, 0x20];
/** A prefix further in than this is not a prefix (Particle's parser gives up there too). */
const MAX_PREFIX_OFFSET = 8 * 1024;

/*
 * Platform IDs Particle's parser rates as "known" while scanning for a prefix. Only the scan's
 * tie-breaking uses them; what the station accepts comes from core/platforms.
 */
const SCAN_KNOWN_PLATFORMS = new Set([0, 6, 8, 10, 12, 13, 14, 15, 22, 23, 24, 25, 26, 28, 32, 35, 37, 38]);
const FUNCTION_COUNT = 10;

export interface RawDependency {
  fn: number;
  index: number;
  version: number;
}

export interface RawPrefix {
  startAddress: number;
  endAddress: number;
  reserved: number;
  flags: number;
  version: number;
  platformId: number;
  fn: number;
  index: number;
  deps: [RawDependency, RawDependency];
}

/** Reads the 24-byte prefix at `o`; the caller has checked that it lies inside `b`. */
export const readPrefix = (b: Uint8Array, o: number): RawPrefix => ({
  startAddress: u32le(b, o),
  endAddress: u32le(b, o + 4),
  reserved: u8(b, o + 8),
  flags: u8(b, o + 9),
  version: u16le(b, o + 10),
  platformId: u16le(b, o + 12),
  fn: u8(b, o + 14),
  index: u8(b, o + 15),
  deps: [
    { fn: u8(b, o + 16), index: u8(b, o + 17), version: u16le(b, o + 18) },
    { fn: u8(b, o + 20), index: u8(b, o + 21), version: u16le(b, o + 22) },
  ],
});

export interface PrefixScore {
  score: number;
  passed: boolean;
  /** The prefix is plausible but says the module is longer than the file: a cut-off file. */
  truncated: boolean;
}

const MAX_SCORE = 7;

/** How much the bytes at `o` look like a module prefix (Particle's heuristic, point for point). */
export const scorePrefix = (b: Uint8Array, o: number): PrefixScore => {
  const none: PrefixScore = { score: 0, passed: false, truncated: false };
  if (o < 0 || o + PREFIX_SIZE > b.length) return none;
  const p = readPrefix(b, o);
  if (p.endAddress <= p.startAddress) return none;
  if (p.fn === 0) return none;
  for (const d of p.deps) if (d.fn === 0 && (d.index !== 0 || d.version !== 0)) return none;
  let score = 1;
  if (SCAN_KNOWN_PLATFORMS.has(p.platformId)) score++;
  if (p.fn < FUNCTION_COUNT) score++;
  if (p.deps[0].fn < FUNCTION_COUNT) score++;
  if (p.deps[1].fn < FUNCTION_COUNT) score++;
  if ((p.flags & ~KNOWN_FLAGS) === 0) score++;
  const expectedSize = p.endAddress - p.startAddress + 4;
  // Particle's parser scores a too-short file 0. We also note when everything else about the
  // prefix is right, so a cut-off download is called truncated rather than "not a module".
  if (b.length < expectedSize) return { ...none, truncated: score === MAX_SCORE - 1 };
  if (b.length === expectedSize) score++;
  return { score, passed: score >= MAX_SCORE, truncated: false };
};

export interface PrefixSearch {
  offset: number;
  score: number;
  /** A preferred offset holds a prefix that would fit but for the file being too short. */
  truncatedAt: number | undefined;
}

/** Finds the prefix: the first perfect candidate, else the best-scoring one (first wins ties). */
export const findPrefix = (b: Uint8Array): PrefixSearch => {
  let best = 0;
  let bestOffset = 0;
  let truncatedAt: number | undefined;
  for (const o of PREFERRED_PREFIX_OFFSETS) {
    const s = scorePrefix(b, o);
    if (s.passed) return { offset: o, score: s.score, truncatedAt };
    if (s.truncated && truncatedAt === undefined) truncatedAt = o;
    if (s.score > best) {
      best = s.score;
      bestOffset = o;
    }
  }
  const last = Math.min(MAX_PREFIX_OFFSET, b.length - MIN_SUFFIX_SIZE - PREFIX_SIZE - 4);
  for (let o = 4; o <= last; o += 4) {
    if (PREFERRED_PREFIX_OFFSETS.includes(o)) continue;
    const s = scorePrefix(b, o);
    if (s.passed) return { offset: o, score: s.score, truncatedAt };
    if (s.score > best) {
      best = s.score;
      bestOffset = o;
    }
  }
  return { offset: bestOffset, score: best, truncatedAt };
};

export type ExtensionRead = { ok: true; ext: ModuleExtension } | { ok: false; stop: true };

/** One type/length record at `o`; `stop` where the records end (an INVALID type or no room). */
export const readExtension = (b: Uint8Array, o: number, limit = b.length): ExtensionRead => {
  if (o + 4 > limit) return { ok: false, stop: true };
  const type = u16le(b, o);
  const length = u16le(b, o + 2);
  if (type === EXTENSION_INVALID) return { ok: false, stop: true };
  if (o + length > limit) return { ok: false, stop: true };
  return { ok: true, ext: { type, offset: o, length } };
};

export type PrefixExtensions =
  | { ok: true; extensions: ModuleExtension[]; prefixSize: number }
  | { ok: false; reason: string };

/**
 * With the PREFIX_EXTENSIONS flag, records follow the prefix and must close with an END record.
 * Offsets here are relative to the file; the walk stops short of the minimal suffix.
 */
export const readPrefixExtensions = (b: Uint8Array, prefixOffset: number): PrefixExtensions => {
  const extensions: ModuleExtension[] = [];
  let o = prefixOffset + PREFIX_SIZE;
  while (o < b.length - MIN_SUFFIX_SIZE - 4) {
    const r = readExtension(b, o);
    if (!r.ok) break;
    extensions.push(r.ext);
    if (r.ext.length === 0) return { ok: false, reason: `an extension record at offset ${o} has length 0` };
    o += r.ext.length;
    if (r.ext.type === EXTENSION_END) break;
  }
  const lastExt = extensions[extensions.length - 1];
  if (!lastExt || lastExt.type !== EXTENSION_END)
    return { ok: false, reason: 'the prefix extensions do not end with an END record' };
  return { ok: true, extensions, prefixSize: o - prefixOffset };
};

/** Module functions (bootloader, mono, system, user, radio) whose addresses are in the MCU's internal flash. */
export const INTERNAL_FLASH_FUNCTION_CODES: ReadonlySet<number> = new Set([2, 3, 4, 5, 8]);

/** One field of a prefix that contradicts the file, or the flash it claims to be for. */
export interface PrefixFault {
  prefixOffset: number;
  /** Which field is wrong; absent when the prefix is sound but Particle's parser would read another. */
  field?: 'startAddress' | 'endAddress' | 'startAddress/endAddress';
  fieldOffset?: number;
  /** The end of a sentence about the prefix: "its end address … is not after …". */
  reason: string;
}

/**
 * Judges the addresses of a prefix against a file of `n` bytes whose last 4 bytes are (`crcOk`) or
 * are not the CRC-32 of the rest. A prefix whose addresses give exactly the file's size agrees with
 * it (where it points is then the flash map's business). A valid CRC at the end means the file is
 * one whole module, so any other size is a lie; without one, a longer module means a cut-off file
 * and a shorter one a module padded after its end, as old bootloaders were shipped.
 */
export const prefixFault = (
  b: Uint8Array,
  o: number,
  crcOk: boolean,
): PrefixFault | 'truncated' | undefined => {
  const p = readPrefix(b, o);
  const n = b.length;
  const start = hex32(p.startAddress);
  const end = hex32(p.endAddress);
  if (p.endAddress <= p.startAddress)
    return {
      prefixOffset: o,
      field: 'startAddress/endAddress',
      fieldOffset: o,
      reason: `its end address ${end} is not after its start address ${start} (swapped or overwritten)`,
    };
  const size = p.endAddress - p.startAddress + 4;
  if (size === n) return undefined;
  const platform = platformById(p.platformId);
  if (platform && INTERNAL_FLASH_FUNCTION_CODES.has(p.fn)) {
    const { internalStart, internalEnd } = platform.flash;
    const flash = `the ${platform.displayName}'s internal flash (${hex32(internalStart)}–${hex32(internalEnd)})`;
    if (p.startAddress < internalStart || p.startAddress >= internalEnd)
      return {
        prefixOffset: o,
        field: 'startAddress',
        fieldOffset: o,
        reason: `its start address ${start} lies outside ${flash}`,
      };
    if (p.endAddress + 4 > internalEnd)
      return {
        prefixOffset: o,
        field: 'endAddress',
        fieldOffset: o + 4,
        reason: `its end address ${end} lies outside ${flash}`,
      };
  }
  if (crcOk)
    return {
      prefixOffset: o,
      field: 'endAddress',
      fieldOffset: o + 4,
      reason: `its end address ${end} makes the module ${size} bytes, but the file is one whole module of ${n} bytes (its CRC-32 checks out)`,
    };
  return size > n ? 'truncated' : undefined;
};

/**
 * The prefix Device OS would have written: at one of its offsets, naming a platform in our table, a
 * module function and dependencies that make sense. Damage to the addresses leaves these intact,
 * which is how a damaged prefix is still recognised as the module's own.
 */
const ownPrefix = (b: Uint8Array, o: number): boolean => {
  if (o + PREFIX_SIZE > b.length) return false;
  const p = readPrefix(b, o);
  if (p.fn === 0 || p.fn >= FUNCTION_COUNT) return false;
  for (const d of p.deps)
    if (d.fn >= FUNCTION_COUNT || (d.fn === 0 && (d.index !== 0 || d.version !== 0))) return false;
  return platformById(p.platformId) !== undefined;
};

/** Why a prefix found by scanning cannot be the module's: platform, function and addresses must fit together. */
const unbelievable = (b: Uint8Array, o: number): string | undefined => {
  const p = readPrefix(b, o);
  const platform = platformById(p.platformId);
  if (!platform) return `names platform ID ${p.platformId}, which this station does not know`;
  if (p.fn === 0 || p.fn >= FUNCTION_COUNT)
    return `has function code ${p.fn}, which is not a module function`;
  const size = p.endAddress - p.startAddress + 4;
  if (size !== b.length) return `says the module is ${size} bytes, but the file is ${b.length}`;
  const { internalStart, internalEnd } = platform.flash;
  if (
    INTERNAL_FLASH_FUNCTION_CODES.has(p.fn) &&
    (p.startAddress < internalStart || p.endAddress + 4 > internalEnd)
  )
    return `says the module spans ${hex32(p.startAddress)}–${hex32(p.endAddress + 4)}, outside the ${platform.displayName}'s internal flash (${hex32(internalStart)}–${hex32(internalEnd)})`;
  return undefined;
};

/**
 * Whether the prefix Particle's parser picks (`search`) can be trusted as the module's identity:
 * - `sound`: it can;
 * - `lies`: it is the module's own prefix, but its addresses contradict the file;
 * - `damaged`: the module's own prefix is at another offset, damaged (or passed over), so what
 *   Particle's parser reads is not the module's prefix at all;
 * - `truncated`: the module's own prefix says the file is cut short;
 * - `unbelievable`: no prefix of the module's own, and the scanned one does not hold together;
 * - `none`: nothing looks like a prefix.
 */
export type PrefixVerdict =
  | { kind: 'sound' }
  | { kind: 'lies'; fault: PrefixFault }
  | { kind: 'damaged'; fault: PrefixFault }
  | { kind: 'truncated'; prefixOffset: number; expectedSize: number }
  | { kind: 'unbelievable'; reason: string }
  | { kind: 'none' };

export const judgePrefix = (b: Uint8Array, search: PrefixSearch, crcOk: boolean): PrefixVerdict => {
  const picked = search.score > 0 ? search.offset : undefined;
  const atDeviceOsOffset = picked !== undefined && DEVICE_OS_PREFIX_OFFSETS.includes(picked);
  const pickedFault = atDeviceOsOffset ? prefixFault(b, picked, crcOk) : undefined;
  if (atDeviceOsOffset && typeof pickedFault !== 'object' && ownPrefix(b, picked)) return { kind: 'sound' };
  // The first prefix of the module's own, in Particle's order, is the one Device OS wrote; a
  // look-alike further in (a table in the code, say) does not outrank it.
  const own = DEVICE_OS_PREFIX_OFFSETS.find((o) => ownPrefix(b, o));
  if (own !== undefined) {
    if (own === picked && typeof pickedFault === 'object') return { kind: 'lies', fault: pickedFault };
    const fault = prefixFault(b, own, crcOk);
    if (fault === 'truncated') {
      const p = readPrefix(b, own);
      return { kind: 'truncated', prefixOffset: own, expectedSize: p.endAddress - p.startAddress + 4 };
    }
    return {
      kind: 'damaged',
      fault: fault ?? {
        prefixOffset: own,
        reason: `it looks sound, but Particle's parser would read another one, at offset 0x${search.offset.toString(16)}`,
      },
    };
  }
  if (picked === undefined) return { kind: 'none' };
  if (atDeviceOsOffset)
    // Where Device OS puts a prefix, for a platform or function we do not know: the addresses can
    // still be judged against the file; the platform is refused later, by name.
    return typeof pickedFault === 'object' ? { kind: 'lies', fault: pickedFault } : { kind: 'sound' };
  const reason = unbelievable(b, picked);
  return reason ? { kind: 'unbelievable', reason } : { kind: 'sound' };
};

import { u8, u16le, u32le } from './bytes';
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
export const EXTENSION_INVALID = 0xffff;

/*
 * Where the prefix usually sits, tried first and in this order, as Particle's parser does: 0 for
 * user parts, 0x200 after the nRF52840 vector table, 0x184 after the STM32F2 one, 0xC0 (Bluz) and
 * 0x10C (Core). The order matters only for ties, and keeping Particle's makes our answer theirs.
 */
export const PREFERRED_PREFIX_OFFSETS: readonly number[] = [0, 0x200, 0x184, 0xc0, 0x10c];
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

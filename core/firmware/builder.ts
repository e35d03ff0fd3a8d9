import { type Platform, platformById } from '../platforms';
import { ByteWriter, sha256Hex } from './bytes';
import { crc32 } from './crc32';
import {
  BCD_DFUSE,
  DFU_SUFFIX_SIZE,
  DFUSE_ELEMENT_HEADER_SIZE,
  DFUSE_PREFIX_SIZE,
  DFUSE_TARGET_PREFIX_SIZE,
  dfuSuffixCrc,
} from './dfuse-file';
import { functionCode } from './module-parser';
import { MIN_SUFFIX_SIZE, PREFIX_SIZE } from './module-prefix';
import type { DfuseSpec, ModuleDependency, ModuleSpec } from './types';

/*
 * Generates Particle module binaries and DfuSe files: the demo mode, the simulator tests and the
 * benchmarks use these instead of real firmware, and refusal tests build deliberately broken ones.
 * The layout is Device OS's: [vector table][prefix][body][suffix][CRC-32 big-endian].
 */

export const PRODUCT_DATA_EXTENSION = 0x0001;
const PRODUCT_DATA_LENGTH = 10;

/** xorshift32: a stable pattern for generated bodies, so a seed gives the same bytes everywhere. */
export const patternBytes = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

/** Where a platform keeps each kind of module (the ones a station meets). */
export const defaultStartAddress = (
  platform: Platform | undefined,
  fn: number,
  index: number,
  total: number,
): number => {
  if (!platform) return 0;
  const gen = platform.generation;
  switch (fn) {
    case 2: // bootloader
      return gen === 3 ? 0xf4000 : gen === 4 ? 0x08004000 : 0x08000000;
    case 3: // mono
      return gen === 1 ? 0x08005000 : 0x08020000;
    case 4: // system part
      return gen === 3 ? 0x30000 : gen === 4 ? 0x08060000 : 0x08020000 + (Math.max(index, 1) - 1) * 0x40000;
    case 5: {
      const up = platform.flash.userPart;
      return up.growsDown ? up.end - total : up.start;
    }
    case 8: // radio stack (SoftDevice)
      return 0x1000;
    default:
      return 0;
  }
};

const defaultPrefixOffset = (platform: Platform | undefined, fn: number): number => {
  if (fn !== 2 && fn !== 3 && fn !== 4) return 0;
  if (platform?.generation === 2) return 0x184;
  if (platform?.generation === 3) return 0x200;
  if (platform?.generation === 1) return 0x10c;
  return 0;
};

export const buildModule = (spec: ModuleSpec): Uint8Array => {
  const platform = platformById(spec.platformId);
  const fn = Math.max(0, functionCode(spec.function)) & 0xff;
  const index = spec.index ?? (fn === 4 || fn === 5 ? 1 : 0);
  const version = spec.version ?? (fn === 5 ? 6 : 5600);
  const prefixOffset = spec.prefixOffset ?? defaultPrefixOffset(platform, fn);
  const body = spec.body ?? patternBytes(spec.bodySize ?? 256, spec.seed ?? 1);
  const deps: ModuleDependency[] =
    spec.dependencies ?? (fn === 5 ? [{ function: 'system', index: 1, version: 5600 }] : []);
  const product = spec.product === undefined ? { id: 0xffff, version: 0xffff } : spec.product;
  const extensions = spec.suffixExtensions ?? [];
  const extensionBytes = extensions.reduce((n, e) => n + 4 + e.payload.length, 0);
  const hasExtensions = extensions.length > 0;
  const productBytes = product ? (hasExtensions ? PRODUCT_DATA_LENGTH : 4) : 0;
  const suffixSize = extensionBytes + productBytes + MIN_SUFFIX_SIZE;
  const total = prefixOffset + PREFIX_SIZE + body.length + suffixSize + 4;

  const w = new ByteWriter(total);
  const start = spec.startAddress ?? defaultStartAddress(platform, fn, index, total);
  const p = prefixOffset;
  if (spec.initialStackPointer !== undefined && p >= 4) w.u32le(0, spec.initialStackPointer);
  w.u32le(p, start);
  w.u32le(p + 4, spec.lie?.endAddress ?? start + total - 4);
  w.u8(p + 9, spec.flags ?? 0);
  w.u16le(p + 10, version);
  w.u16le(p + 12, spec.platformId);
  w.u8(p + 14, fn);
  w.u8(p + 15, index);
  deps.slice(0, 2).forEach((d, i) => {
    const at = p + 16 + i * 4;
    w.u8(at, Math.max(0, functionCode(d.function)));
    w.u8(at + 1, d.index);
    w.u16le(at + 2, d.version);
  });
  w.set(p + PREFIX_SIZE, body);

  let o = p + PREFIX_SIZE + body.length;
  for (const e of extensions) {
    w.u16le(o, e.type);
    w.u16le(o + 2, 4 + e.payload.length);
    w.set(o + 4, e.payload);
    o += 4 + e.payload.length;
  }
  if (product && hasExtensions) {
    // Device OS writes product data as a record: type, length, then 0xFFFF, product ID, version.
    w.u16le(o, PRODUCT_DATA_EXTENSION);
    w.u16le(o + 2, PRODUCT_DATA_LENGTH);
    w.u16le(o + 4, 0xffff);
    w.u16le(o + 6, product.id);
    w.u16le(o + 8, product.version);
    o += PRODUCT_DATA_LENGTH;
  } else if (product) {
    w.u16le(o, product.id);
    w.u16le(o + 2, product.version);
    o += 4;
  }
  o += 2; // reserved
  const sha = Buffer.from(sha256Hex(w.bytes.subarray(0, total - 38)), 'hex');
  if (spec.corrupt?.sha) sha[0] = (sha[0] ?? 0) ^ 0xff;
  w.set(o, sha);
  w.u16le(o + 32, spec.lie?.suffixSize ?? suffixSize);
  let crc = crc32(w.bytes, 0, total - 4);
  if (spec.corrupt?.crc) crc = ~crc >>> 0;
  w.u32be(total - 4, crc);
  return w.bytes;
};

const NAME_SIZE = 255;

export const buildDfuse = (spec: DfuseSpec): Uint8Array => {
  const targetSizes = spec.targets.map((t) =>
    t.elements.reduce((n, e) => n + DFUSE_ELEMENT_HEADER_SIZE + e.data.length, 0),
  );
  const imageSize =
    DFUSE_PREFIX_SIZE + targetSizes.reduce((n, size) => n + DFUSE_TARGET_PREFIX_SIZE + size, 0);
  const total = imageSize + DFU_SUFFIX_SIZE;
  const w = new ByteWriter(total);
  const ascii = (o: number, s: string): void => {
    for (let i = 0; i < s.length; i++) w.u8(o + i, s.charCodeAt(i));
  };
  ascii(0, 'DfuSe');
  w.u8(5, 1);
  w.u32le(6, spec.imageSizeWithSuffix ? total : imageSize);
  w.u8(10, spec.targets.length);
  let o = DFUSE_PREFIX_SIZE;
  spec.targets.forEach((t, i) => {
    ascii(o, 'Target');
    w.u8(o + 6, t.alt);
    if (t.name !== undefined) {
      w.u32le(o + 7, 1);
      ascii(o + 11, t.name.slice(0, NAME_SIZE - 1));
    }
    w.u32le(o + 266, targetSizes[i] ?? 0);
    w.u32le(o + 270, t.elements.length);
    o += DFUSE_TARGET_PREFIX_SIZE;
    for (const e of t.elements) {
      w.u32le(o, e.address);
      w.u32le(o + 4, e.data.length);
      w.set(o + 8, e.data);
      o += DFUSE_ELEMENT_HEADER_SIZE + e.data.length;
    }
  });
  w.u16le(o, spec.bcdDevice ?? 0xffff);
  w.u16le(o + 2, spec.idProduct ?? 0xffff);
  w.u16le(o + 4, spec.idVendor ?? 0xffff);
  w.u16le(o + 6, BCD_DFUSE);
  ascii(o + 8, 'UFD');
  w.u8(o + 11, DFU_SUFFIX_SIZE);
  let crc = dfuSuffixCrc(w.bytes, total - 4);
  if (spec.corruptCrc) crc = ~crc >>> 0;
  w.u32le(total - 4, crc);
  return w.bytes;
};

import type { LsError } from '../errors/result';
import { u8, u16le, u32le } from './bytes';
import { crc32, crcHex } from './crc32';
import { firmwareError, hex32 } from './errors';
import type { DfuseElement, DfuseInfo, DfuseTarget } from './types';

/*
 * ST's DfuSe file format (UM0391):
 *   prefix  'DfuSe' u8 version(1) u32 imageSize u8 targetCount                            11 bytes
 *   target  'Target' u8 alt u32 named u8[255] name u32 targetSize u32 elementCount      274 bytes
 *   element u32 address u32 size, then the data
 *   suffix  u16 bcdDevice u16 idProduct u16 idVendor u16 bcdDFU 'UFD' u8 length(16) u32 crc
 * The suffix CRC is dfu-util's: IEEE CRC-32 without the final complement, little-endian.
 *
 * Real tools disagree on what imageSize counts. ST's DfuSe tools write the file size without the
 * 16-byte suffix (and readers written against their files expect that); dfu-util's dfuse-pack
 * (0.11) writes the whole file's size, as UM0391's text ("the total DFU file length") reads.
 * dfu-util itself ignores the field. Both values are accepted; either way the targets must account
 * for every byte before the suffix, and the suffix CRC must match.
 */
export const DFUSE_SIGNATURE = 'DfuSe';
export const DFUSE_PREFIX_SIZE = 11;
export const DFUSE_TARGET_PREFIX_SIZE = 274;
export const DFUSE_ELEMENT_HEADER_SIZE = 8;
export const DFU_SUFFIX_SIZE = 16;
export const BCD_DFUSE = 0x011a;
const TARGET_SIGNATURE = 'Target';

const ascii = (b: Uint8Array, o: number, n: number): string => {
  let s = '';
  for (let i = o; i < o + n && i < b.length; i++) s += String.fromCharCode(u8(b, i));
  return s;
};

export const isDfuse = (b: Uint8Array): boolean => b.length >= 5 && ascii(b, 0, 5) === DFUSE_SIGNATURE;

/** The suffix CRC: the complement of the standard CRC-32 (dfu-util never applies the final XOR). */
export const dfuSuffixCrc = (b: Uint8Array, end: number): number => ~crc32(b, 0, end) >>> 0;

export interface DfuseElementData extends DfuseElement {
  alt: number;
  targetName: string | undefined;
  data: Uint8Array;
}

export type DfuseParse =
  | { ok: true; info: DfuseInfo; elements: DfuseElementData[] }
  | { ok: false; error: LsError };

const bad = (
  code: Parameters<typeof firmwareError>[0],
  message: string,
  details?: Record<string, unknown>,
) => ({
  ok: false as const,
  error: firmwareError(code, message, details),
});

export const parseDfuse = (file: string, b: Uint8Array): DfuseParse => {
  const n = b.length;
  if (!isDfuse(b)) return bad('DFUSE_BAD_PREFIX', `${file} does not start with the DfuSe signature.`);
  if (n < DFUSE_PREFIX_SIZE + DFU_SUFFIX_SIZE)
    return bad('FIRMWARE_TRUNCATED', `${file} is ${n} bytes, too short for a DfuSe prefix and DFU suffix.`, {
      size: n,
    });
  const s = n - DFU_SUFFIX_SIZE;
  const version = u8(b, 5);
  const imageSize = u32le(b, 6);
  const targetCount = u8(b, 10);
  const suffix = {
    bcdDevice: u16le(b, s),
    idProduct: u16le(b, s + 2),
    idVendor: u16le(b, s + 4),
    bcdDFU: u16le(b, s + 6),
    length: u8(b, s + 11),
  };
  if (ascii(b, s + 8, 3) !== 'UFD' || suffix.length !== DFU_SUFFIX_SIZE) {
    // A cut-off file has lost its suffix too; say "truncated" rather than "bad suffix".
    const cut = truncation(file, b, imageSize, targetCount);
    if (cut) return cut;
    return bad('DFUSE_BAD_SUFFIX', `${file} has no valid DFU suffix ('UFD', length 16) at its end.`);
  }
  if (suffix.bcdDFU !== BCD_DFUSE)
    return bad(
      'DFUSE_BAD_SUFFIX',
      `${file} declares DFU version 0x${suffix.bcdDFU.toString(16).padStart(4, '0')} in its suffix; DfuSe files use 0x011a.`,
      { bcdDFU: suffix.bcdDFU },
    );
  const stored = crcHex(u32le(b, n - 4));
  const actual = crcHex(dfuSuffixCrc(b, n - 4));
  const crc = { ok: stored === actual, stored, actual };
  const body = parseTargets(file, b, s, imageSize, targetCount);
  if (!body.ok) {
    // Damage explains a broken structure better than the structure does.
    if (!crc.ok)
      return bad(
        'DFUSE_CRC_MISMATCH',
        `${file}: the DFU suffix CRC is ${stored} but the file's is ${actual}.`,
        {
          stored,
          actual,
        },
      );
    return body;
  }
  return {
    ok: true,
    info: { version, imageSize, targets: body.targets, suffix, crc },
    elements: body.elements,
  };
};

/** Where the targets end by their own headers; Infinity when a header lies past the file. */
const targetsEnd = (b: Uint8Array, targetCount: number): number | undefined => {
  let o = DFUSE_PREFIX_SIZE;
  for (let t = 0; t < targetCount; t++) {
    if (o + DFUSE_TARGET_PREFIX_SIZE > b.length) return Number.POSITIVE_INFINITY;
    if (ascii(b, o, 6) !== TARGET_SIGNATURE) return undefined;
    o += DFUSE_TARGET_PREFIX_SIZE + u32le(b, o + 266);
  }
  return o;
};

/**
 * For a file without a valid suffix: is it cut short? Then imageSize (either reading) points past
 * where the suffix should start, and so do the targets' own sizes. Targets that end in time mean
 * the suffix is there but damaged.
 */
const truncation = (file: string, b: Uint8Array, imageSize: number, targetCount: number) => {
  const n = b.length;
  const s = n - DFU_SUFFIX_SIZE;
  const end = targetsEnd(b, targetCount);
  if (imageSize <= s || (end !== undefined && end <= s)) return undefined;
  const details = { imageSize, size: n };
  if (end !== undefined)
    return bad(
      'FIRMWARE_TRUNCATED',
      Number.isFinite(end)
        ? `${file} is cut short: its targets end at byte ${end} and a 16-byte DFU suffix should follow, but the file holds only ${n} bytes.`
        : `${file} is cut short: its targets run past its end (${n} bytes), and it has no DFU suffix.`,
      details,
    );
  return bad(
    'FIRMWARE_TRUNCATED',
    `${file} is cut short: its DfuSe prefix declares a ${imageSize}-byte image, but the file holds only ${n} bytes and no DFU suffix.`,
    details,
  );
};

type TargetsParse =
  | { ok: true; targets: DfuseTarget[]; elements: DfuseElementData[] }
  | { ok: false; error: LsError };

const parseTargets = (
  file: string,
  b: Uint8Array,
  s: number,
  imageSize: number,
  targetCount: number,
): TargetsParse => {
  // ST's tools leave the suffix out of imageSize; dfuse-pack counts it (see the top of this file).
  if (imageSize !== s && imageSize !== s + DFU_SUFFIX_SIZE)
    return bad(
      'DFUSE_BAD_STRUCTURE',
      `${file} declares a ${imageSize}-byte image, but it has ${s} bytes before its suffix (${s + DFU_SUFFIX_SIZE} with it).`,
      { imageSize, available: s },
    );
  const targets: DfuseTarget[] = [];
  const elements: DfuseElementData[] = [];
  let o = DFUSE_PREFIX_SIZE;
  for (let t = 0; t < targetCount; t++) {
    if (o + DFUSE_TARGET_PREFIX_SIZE > s || ascii(b, o, 6) !== TARGET_SIGNATURE)
      return bad(
        'DFUSE_BAD_STRUCTURE',
        `${file}: target ${t + 1} of ${targetCount} is missing or has no 'Target' signature.`,
        {
          offset: o,
        },
      );
    const alt = u8(b, o + 6);
    const named = u32le(b, o + 7) !== 0;
    const rawName = ascii(b, o + 11, 255);
    const nul = rawName.indexOf('\0');
    // Tools that name no target may still set the flag (or leave the name empty): no name either way.
    const name = (named ? (nul >= 0 ? rawName.slice(0, nul) : rawName) : '') || undefined;
    const size = u32le(b, o + 266);
    const count = u32le(b, o + 270);
    const start = o + DFUSE_TARGET_PREFIX_SIZE;
    if (start + size > s)
      return bad(
        'DFUSE_BAD_STRUCTURE',
        `${file}: target ${t + 1} (alt ${alt}) runs past the end of the image.`,
        {
          offset: o,
          size,
        },
      );
    const target: DfuseTarget = { alt, name, size, elements: [] };
    let e = start;
    for (let i = 0; i < count; i++) {
      if (e + DFUSE_ELEMENT_HEADER_SIZE > start + size)
        return bad(
          'DFUSE_BAD_STRUCTURE',
          `${file}: target ${t + 1} declares ${count} elements but holds fewer.`,
          {
            offset: e,
          },
        );
      const address = u32le(b, e);
      const elementSize = u32le(b, e + 4);
      const dataOffset = e + DFUSE_ELEMENT_HEADER_SIZE;
      if (dataOffset + elementSize > start + size)
        return bad(
          'DFUSE_BAD_STRUCTURE',
          `${file}: element ${i + 1} of target ${t + 1} (${elementSize} bytes at ${hex32(address)}) runs past its target.`,
          { offset: e, address, size: elementSize },
        );
      target.elements.push({ address, size: elementSize, dataOffset });
      elements.push({
        address,
        size: elementSize,
        dataOffset,
        alt,
        targetName: name,
        data: b.subarray(dataOffset, dataOffset + elementSize),
      });
      e = dataOffset + elementSize;
    }
    if (e !== start + size)
      return bad(
        'DFUSE_BAD_STRUCTURE',
        `${file}: the elements of target ${t + 1} do not add up to its declared size.`,
        {
          offset: o,
          size,
          used: e - start,
        },
      );
    targets.push(target);
    o = start + size;
  }
  if (o !== s)
    return bad('DFUSE_BAD_STRUCTURE', `${file} has ${s - o} bytes after its last target.`, { offset: o });
  return { ok: true, targets, elements };
};

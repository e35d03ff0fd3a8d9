import { crc32 } from 'node:zlib';
import type { SimFlash } from './flash';
import type { SimModule } from './types';

/**
 * What Device OS's MODULE_INFO would report after a DFU session: the device scans its flash for
 * module prefixes where downloads started, so a station can confirm the versions it just wrote
 * (and a corrupted image shows up as a failed integrity check, as on a real device).
 *
 * Prefix layout (24 bytes, little-endian): u32 start, u32 end (where the CRC sits), u8 reserved,
 * u8 flags, u16 version, u16 platform, u8 function, u8 index, then two dependencies
 * (u8 function, u8 index, u16 version). The CRC-32 (IEEE) over [start, end) is stored big-endian at
 * `end`.
 */

/** Where a prefix may sit relative to the module start (vector tables push it down on some MCUs). */
const PREFIX_OFFSETS = [0, 0x184, 0x200, 0xc0, 0x10c];
const MAX_MODULE = 4 * 1024 * 1024;
const INTEGRITY_FAILED = 0x02;

export const readModuleAt = (flash: SimFlash, start: number, platformId: number): SimModule | undefined => {
  for (const offset of PREFIX_OFFSETS) {
    const p = flash.read(start + offset, 24);
    const v = new DataView(p.buffer);
    if (v.getUint32(0, true) !== start) continue;
    const end = v.getUint32(4, true);
    const func = p[14] ?? 0;
    if (
      v.getUint16(12, true) !== platformId ||
      end <= start ||
      end - start > MAX_MODULE ||
      func < 1 ||
      func > 9
    ) {
      continue;
    }
    const body = flash.read(start, end - start);
    const stored = new DataView(flash.read(end, 4).buffer).getUint32(0, false);
    const dependencies: { func: number; index: number; version: number }[] = [];
    for (const o of [16, 20]) {
      const depFunc = p[o] ?? 0;
      if (depFunc !== 0)
        dependencies.push({ func: depFunc, index: p[o + 1] ?? 0, version: v.getUint16(o + 2, true) });
    }
    return {
      func,
      index: p[15] ?? 0,
      version: v.getUint16(10, true),
      size: end - start + 4,
      dependencies,
      ...(crc32(body) >>> 0 !== stored ? { failedFlags: INTEGRITY_FAILED } : {}),
    };
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

import { err, ok, type Result } from '../errors/result';

/*
 * DfuSe memory layout strings (ST UM0424 / AN3156), read from each alt setting's iInterface string:
 *   @Internal Flash  /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg
 * Several "/address/segments" groups may follow the name. The attribute letter is a bit set minus
 * one: a=readable, b=erasable, c=a+b, d=writable, e=a+d, f=b+d, g=all three.
 */

export interface MemorySegment {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly sectorSize: number;
  readonly sectorCount: number;
  readonly readable: boolean;
  readonly erasable: boolean;
  readonly writable: boolean;
}

export interface MemoryLayout {
  readonly name: string;
  readonly segments: readonly MemorySegment[];
}

const MULTIPLIER: Record<string, number> = { ' ': 1, B: 1, K: 1024, M: 1024 * 1024 };

export const parseMemoryLayout = (text: string): Result<MemoryLayout, 'DFU_LAYOUT_INVALID'> => {
  const bad = (why: string) =>
    err('DFU_LAYOUT_INVALID', `The DFU memory layout "${text}" cannot be read: ${why}.`, {
      remedy: 'The device bootloader reports an unexpected layout; update it or use another device.',
    });
  if (!text.startsWith('@')) return bad('it does not start with "@"');
  const firstSlash = text.indexOf('/');
  if (firstSlash < 0) return bad('no address');
  const name = text.slice(1, firstSlash).trim();
  const groups = text.slice(firstSlash + 1).split('/');
  if (groups.length % 2 !== 0) return bad('an address without segments');
  const segments: MemorySegment[] = [];
  for (let g = 0; g < groups.length; g += 2) {
    const addrText = (groups[g] ?? '').trim();
    if (!/^0x[0-9a-f]{1,8}$/i.test(addrText)) return bad(`"${addrText}" is not an address`);
    let address = Number.parseInt(addrText, 16);
    for (const part of (groups[g + 1] ?? '').split(',')) {
      const m = /^\s*(\d+)\s*\*\s*(\d+)\s?([ BKM])\s*([a-g])\s*$/.exec(part);
      if (!m) return bad(`"${part}" is not count*size+attributes`);
      const sectorCount = Number(m[1]);
      const sectorSize = Number(m[2]) * (MULTIPLIER[m[3] ?? ' '] ?? 1);
      const bits = (m[4] ?? 'a').charCodeAt(0) - 'a'.charCodeAt(0) + 1;
      if (sectorCount === 0 || sectorSize === 0) return bad(`"${part}" has no size`);
      const end = address + sectorCount * sectorSize;
      segments.push({
        start: address,
        end,
        sectorSize,
        sectorCount,
        readable: (bits & 1) !== 0,
        erasable: (bits & 2) !== 0,
        writable: (bits & 4) !== 0,
      });
      address = end;
    }
  }
  if (segments.length === 0) return bad('no segments');
  return ok({ name, segments });
};

export const segmentAt = (layout: MemoryLayout, address: number): MemorySegment | undefined =>
  layout.segments.find((s) => s.start <= address && address < s.end);

/** The segments a range [address, address+length) touches, or undefined if any byte falls outside. */
export const segmentsFor = (
  layout: MemoryLayout,
  address: number,
  length: number,
): MemorySegment[] | undefined => {
  const out: MemorySegment[] = [];
  let at = address;
  const end = address + length;
  while (at < end) {
    const s = segmentAt(layout, at);
    if (!s) return undefined;
    out.push(s);
    at = s.end;
  }
  return out;
};

/** Start addresses of the sectors covering [address, address+length): the only ones to erase. */
export const sectorsFor = (
  layout: MemoryLayout,
  address: number,
  length: number,
): { address: number; size: number }[] => {
  const sectors: { address: number; size: number }[] = [];
  if (length <= 0) return sectors;
  const end = address + length;
  let at = address;
  while (at < end) {
    const s = segmentAt(layout, at);
    if (!s) break;
    const index = Math.floor((at - s.start) / s.sectorSize);
    const sectorStart = s.start + index * s.sectorSize;
    sectors.push({ address: sectorStart, size: s.sectorSize });
    at = sectorStart + s.sectorSize;
  }
  return sectors;
};

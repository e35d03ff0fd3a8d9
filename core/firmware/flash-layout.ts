import type { Platform } from '../platforms';

/*
 * The DFU memory layout a Particle bootloader reports in an alt setting's interface string, e.g.
 * `@Internal Flash /0x08000000/03*016Ka,01*016Kg`. Firmware validation needs only one fact from it:
 * which sectors DFU may erase and write (attribute letters: a readable, b erasable, d writable, and
 * their sums up to g). Read-only sectors are where the bootloader protects itself.
 */
export interface LayoutSegment {
  start: number;
  end: number;
  writable: boolean;
  /** One `count*size` item is `count` sectors of this size (an erase clears a whole sector). */
  sectorSize: number;
}

const UNIT: Record<string, number> = { ' ': 1, B: 1, K: 1024, M: 1024 * 1024 };

export const parseLayout = (layout: string): LayoutSegment[] => {
  const parts = layout.split('/');
  const base = Number.parseInt(parts[1]?.trim() ?? '', 16);
  if (!Number.isFinite(base)) return [];
  const segments: LayoutSegment[] = [];
  let at = base;
  for (const item of (parts[2] ?? '').split(',')) {
    const m = /^\s*(\d+)\*(\d+)([ BKM])([a-g])\s*$/.exec(item);
    if (!m) return [];
    const sectorSize = Number(m[2]) * (UNIT[m[3] ?? 'B'] ?? 1);
    const size = Number(m[1]) * sectorSize;
    const attrs = (m[4] ?? 'a').charCodeAt(0) - 'a'.charCodeAt(0) + 1;
    segments.push({
      start: at,
      end: at + size,
      writable: (attrs & 2) !== 0 && (attrs & 4) !== 0,
      sectorSize,
    });
    at += size;
  }
  return segments;
};

const cache = new Map<string, LayoutSegment[]>();

export interface UnwritablePart {
  start: number;
  end: number;
  /** `outside`: no sector of the layout covers it; `read-only`: the bootloader protects it. */
  reason: 'outside' | 'read-only';
}

/** The first part of [start, end) that DFU on alt setting `alt` cannot write, or undefined if all can be written. */
export const unwritablePart = (
  platform: Platform,
  alt: number,
  start: number,
  end: number,
): UnwritablePart | undefined => {
  const layout = platform.dfu.altSettings.find((a) => a.alt === alt)?.layout;
  if (layout === undefined) return { start, end, reason: 'outside' };
  let segments = cache.get(layout);
  if (!segments) {
    segments = parseLayout(layout);
    cache.set(layout, segments);
  }
  let covered = start;
  for (const seg of segments) {
    if (seg.end <= covered || seg.start >= end) continue;
    if (seg.start > covered) return { start: covered, end: seg.start, reason: 'outside' };
    if (!seg.writable)
      return { start: Math.max(seg.start, start), end: Math.min(seg.end, end), reason: 'read-only' };
    covered = seg.end;
    if (covered >= end) return undefined;
  }
  return covered < end ? { start: covered, end, reason: 'outside' } : undefined;
};

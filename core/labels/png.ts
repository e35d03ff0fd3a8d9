import { crc32 } from 'node:zlib';
import bwipjs from 'bwip-js/generic';
import { PNG } from 'pngjs';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import type { LabelErrorCode } from './errors';
import type { LabelRecord } from './label-record';
import type { LayoutLine } from './layout';
import { type PreparedLabel, prepareLabel } from './prepare';
import { isDark } from './symbol';
import type { LabelTemplate } from './template-schema';

/**
 * A label as a grayscale PNG at the printer's resolution: the symbol's modules from bwip-js as
 * whole-dot squares, text in bwip-js's built-in OCR-B (a font made to be read back by machines
 * and people, and one that needs no font file on the station), and a pHYs chunk so the image
 * prints at its true size.
 */

const WHITE = 255;
const BLACK = 0;
/** bwip-js's built-in OCR-B. */
const FONT = 'OCR-B';

class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height).fill(WHITE);
  }

  fillRect(x: number, y: number, w: number, h: number): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let row = y0; row < y1; row++) this.pixels.fill(BLACK, row * this.width + x0, row * this.width + x1);
  }

  /** Darkens by a glyph's coverage, clipped to `clipRight` (the end of the line's box). */
  blend(x: number, y: number, w: number, h: number, coverage: Uint8Array, clipRight: number): void {
    for (let gy = 0; gy < h; gy++) {
      const py = y + gy;
      if (py < 0 || py >= this.height) continue;
      for (let gx = 0; gx < w; gx++) {
        const px = x + gx;
        if (px < 0 || px >= Math.min(this.width, clipRight)) continue;
        const a = coverage[gy * w + gx] ?? 0;
        if (a === 0) continue;
        const i = py * this.width + px;
        this.pixels[i] = Math.min(this.pixels[i] ?? WHITE, WHITE - a);
      }
    }
  }
}

type Glyph = ReturnType<typeof bwipjs.FontLib.getglyph>;

const glyphFor = (fontId: number, ch: string, size: number): Glyph => {
  const glyph = bwipjs.FontLib.getglyph(fontId, ch.codePointAt(0) ?? 63, size, size);
  // OCR-B has no glyph for most non-ASCII letters: show a question mark rather than nothing.
  return glyph.width === 0 && ch.trim() !== '' ? bwipjs.FontLib.getglyph(fontId, 63, size, size) : glyph;
};

const textWidth = (fontId: number, text: string, size: number): number => {
  let w = 0;
  for (const ch of text) w += glyphFor(fontId, ch, size).advance;
  return w;
};

const drawLine = (canvas: Canvas, line: LayoutLine): void => {
  const fontId = bwipjs.FontLib.lookup(FONT);
  // The layout's estimate of the advance is close; whole-dot advances add up, so measure.
  let size = line.heightDots;
  while (size > 6 && textWidth(fontId, line.text, size) > line.boxWidthDots) size--;
  // The cell's baseline sits at 80 % of its height, as in ZPL's font 0.
  const baseline = line.y + Math.round(size * 0.8);
  const clipRight = line.x + line.boxWidthDots;
  let x = line.x;
  for (const ch of line.text) {
    if (x >= clipRight) break;
    const glyph = glyphFor(fontId, ch, size);
    if (glyph.width > 0 && glyph.height > 0) {
      const coverage =
        glyph.pixels.length >= glyph.width * glyph.height ? glyph.pixels : glyph.bytes.subarray(glyph.offset);
      canvas.blend(x + glyph.left, baseline - glyph.top, glyph.width, glyph.height, coverage, clipRight);
    }
    x += glyph.advance;
  }
};

/** A PNG chunk (length, type, data, CRC over type and data). */
const chunk = (type: string, data: Buffer): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
};

/** Inserts pHYs (pixels per metre) after IHDR, which is always the first chunk. */
const withResolution = (png: Buffer, dpi: number): Buffer => {
  const ihdrEnd = 8 + 8 + 13 + 4;
  const perMetre = Math.round(dpi / 0.0254);
  const data = Buffer.alloc(9);
  data.writeUInt32BE(perMetre, 0);
  data.writeUInt32BE(perMetre, 4);
  data.writeUInt8(1, 8);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('pHYs', data), png.subarray(ihdrEnd)]);
};

export const pngFromLayout = (prepared: PreparedLabel): Buffer => {
  const { layout, symbol } = prepared;
  const canvas = new Canvas(layout.widthDots, layout.heightDots);
  const s = layout.symbol;
  for (let row = 0; row < symbol.rows; row++)
    for (let col = 0; col < symbol.columns; col++)
      if (isDark(symbol, col, row))
        canvas.fillRect(s.x + col * s.moduleDots, s.y + row * s.moduleDots, s.moduleDots, s.moduleDots);
  for (const line of layout.lines) drawLine(canvas, line);
  const png = new PNG({
    width: canvas.width,
    height: canvas.height,
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
  });
  png.data = Buffer.from(canvas.pixels);
  return withResolution(PNG.sync.write(png, { colorType: 0, inputColorType: 0 }), layout.dpi);
};

export interface RenderedPng {
  readonly png: Buffer;
  readonly content: string;
}

export const renderLabelPng = (
  template: LabelTemplate,
  record: LabelRecord,
): Result<RenderedPng, LabelErrorCode> => {
  const prepared = prepareLabel(template, record);
  if (!prepared.ok) return prepared;
  return ok({ png: pngFromLayout(prepared.value), content: prepared.value.content });
};

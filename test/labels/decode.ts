import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BarcodeFormat,
  BinaryBitmap,
  DataMatrixReader,
  DecodeHintType,
  HybridBinarizer,
  QRCodeReader,
  RGBLuminanceSource,
} from '@zxing/library';
import { PNG } from 'pngjs';

/**
 * Reads the 2D symbol on a label image with ZXing (a decoder nobody here wrote), the way a
 * scanner would: grayscale, a white border added so a symbol near the edge keeps its quiet zone.
 */
export type DecodedFormat = 'datamatrix' | 'qr';

const PAD = 24;

/** A part of the image, in its pixels: where a scanner is aimed. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const luminance = (
  png: Buffer,
  region?: Region,
): { lum: Uint8ClampedArray; width: number; height: number } => {
  const img = PNG.sync.read(png);
  const r = region ?? { x: 0, y: 0, width: img.width, height: img.height };
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(img.width, r.x + r.width);
  const y1 = Math.min(img.height, r.y + r.height);
  const width = x1 - x0 + 2 * PAD;
  const height = y1 - y0 + 2 * PAD;
  const lum = new Uint8ClampedArray(width * height).fill(255);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      const a = (img.data[i + 3] ?? 255) / 255;
      const grey = ((img.data[i] ?? 0) + (img.data[i + 1] ?? 0) + (img.data[i + 2] ?? 0)) / 3;
      lum[(y - y0 + PAD) * width + x - x0 + PAD] = grey * a + 255 * (1 - a);
    }
  return { lum, width, height };
};

export const decodeSymbol = (png: Buffer, format: DecodedFormat, region?: Region): string | undefined => {
  const { lum, width, height } = luminance(png, region);
  const bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(lum, width, height)));
  const hints = new Map<DecodeHintType, unknown>([
    [DecodeHintType.TRY_HARDER, true],
    [DecodeHintType.POSSIBLE_FORMATS, [format === 'qr' ? BarcodeFormat.QR_CODE : BarcodeFormat.DATA_MATRIX]],
  ]);
  const reader = format === 'qr' ? new QRCodeReader() : new DataMatrixReader();
  try {
    return reader.decode(bitmap, hints).getText();
  } catch {
    return undefined;
  }
};

/** Poppler's pdftoppm rasterises the PDF as a viewer would (Debian: poppler-utils). */
export const hasPdftoppm = spawnSync('pdftoppm', ['-v']).error === undefined;

export const rasterisePdf = (pdf: Uint8Array, dpi: number): Buffer => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-labels-pdf-'));
  writeFileSync(join(dir, 'label.pdf'), pdf);
  const r = spawnSync('pdftoppm', [
    '-r',
    String(dpi),
    '-png',
    '-singlefile',
    join(dir, 'label.pdf'),
    join(dir, 'page'),
  ]);
  if (r.status !== 0) throw new Error(`pdftoppm failed: ${r.stderr.toString()}`);
  return readFileSync(join(dir, 'page.png'));
};

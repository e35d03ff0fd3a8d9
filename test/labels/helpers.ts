import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabelLayout } from '../../core/labels/layout';
import {
  type LabelTemplate,
  type LabelTemplateInput,
  labelTemplateSchema,
} from '../../core/labels/template-schema';
import type { Region } from './decode';

export const tempDir = (prefix = 'ls-labels-'): string => mkdtempSync(join(tmpdir(), prefix));

/** A 50 × 25 mm label with a Data Matrix of the serial and five lines, as a line would use. */
export const template = (over: Partial<LabelTemplateInput> = {}): LabelTemplate =>
  labelTemplateSchema.parse({
    size: { widthMm: 50, heightMm: 25 },
    symbol: { type: 'datamatrix', content: 'serial' },
    lines: [
      { field: 'productName' },
      { field: 'serial', caption: 'SN' },
      { field: 'deviceId' },
      { field: 'iccid', optional: true },
      { field: 'date' },
    ],
    printer: { kind: 'zpl', host: '127.0.0.1' },
    ...over,
  });

/**
 * Where a scanner is aimed: the symbol with a border of four modules (room for the quiet zone
 * and for a printer that places ^BQ a few dots lower). `scale` maps layout dots to the image's
 * pixels. ZXing's Data Matrix detector searches from the middle of the image, so it is given
 * the symbol, as a person aims a scanner, rather than the whole label.
 */
export const symbolRegion = (layout: LabelLayout, scale = 1): Region => {
  const s = layout.symbol;
  const pad = 4 * s.moduleDots;
  const x = Math.max(0, s.x - pad);
  const y = Math.max(0, s.y - pad);
  const right = Math.min(layout.widthDots, s.x + s.columns * s.moduleDots + pad);
  const bottom = Math.min(layout.heightDots, s.y + s.rows * s.moduleDots + pad);
  return {
    x: Math.floor(x * scale),
    y: Math.floor(y * scale),
    width: Math.ceil((right - x) * scale),
    height: Math.ceil((bottom - y) * scale),
  };
};

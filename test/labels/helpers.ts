import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import type { LabelLayout } from '../../core/labels/layout';
import {
  type LabelTemplate,
  type LabelTemplateInput,
  labelTemplateSchema,
} from '../../core/labels/template-schema';
import { newBatch, openLog } from '../store/helpers';
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

/** A station log with one running batch, and a way to add PASS attempts to it. */
export const stationWithBatch = (dir = tempDir()) => {
  const { log } = openLog(dir);
  const batch = log.createBatch(newBatch());
  let n = 0;
  const passed = (deviceId = `e00fce68a1b2c3d4e5f6${String(++n).padStart(4, '0')}`): number => {
    const a = log.startAttempt({ batchId: batch.id, slot: 1, portPath: '1-1', deviceId });
    log.finishAttempt(a.id, { result: 'pass' });
    return a.id;
  };
  return { log, db: log.db, batch, passed, dir };
};

/** The label record of a passed device: serial derived from the device ID so each is distinct. */
export const recordFor = (deviceId: string) => ({
  ...SAMPLE_LABEL_RECORD,
  deviceId,
  serial: `P046${deviceId.slice(-9).toUpperCase()}`,
});

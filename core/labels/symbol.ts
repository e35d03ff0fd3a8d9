import bwipjs from 'bwip-js/generic';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import type { Symbology } from './template-schema';

/**
 * A 2D symbol as a grid of modules, encoded by bwip-js (a port of Barcode Writer in Pure
 * PostScript), so the PNG and PDF outputs draw exactly the modules a reader expects and only
 * the drawing is ours. The ZPL output lets the printer encode the symbol itself; the module
 * count from here sizes it.
 */
export interface SymbolMatrix {
  readonly type: Symbology;
  readonly columns: number;
  readonly rows: number;
  /** Row-major, 1 = dark module. */
  readonly modules: Uint8Array;
  /** Light modules a reader needs around the symbol (ISO/IEC 16022: 1, ISO/IEC 18004: 4). */
  readonly quietZone: number;
}

const BCID: Readonly<Record<Symbology, string>> = { datamatrix: 'datamatrix', qr: 'qrcode' };
const QUIET_ZONE: Readonly<Record<Symbology, number>> = { datamatrix: 1, qr: 4 };

interface RawMatrix {
  readonly pixs: readonly number[];
  readonly pixx: number;
  readonly pixy: number;
}

const isRawMatrix = (v: unknown): v is RawMatrix =>
  typeof v === 'object' &&
  v !== null &&
  Array.isArray((v as { pixs?: unknown }).pixs) &&
  typeof (v as { pixx?: unknown }).pixx === 'number' &&
  typeof (v as { pixy?: unknown }).pixy === 'number';

export const encodeSymbol = (type: Symbology, content: string): Result<SymbolMatrix, LabelErrorCode> => {
  let raw: unknown;
  try {
    // QR: error correction M, the ZPL ^BQ default, so every output carries the same symbol.
    raw = bwipjs.raw(BCID[type], content, type === 'qr' ? 'eclevel=M' : '')[0];
  } catch (e) {
    return labelErr('LABEL_CONTENT_INVALID', `"${content}" cannot be encoded as ${type}: ${String(e)}`, {
      details: { type },
    });
  }
  if (!isRawMatrix(raw) || raw.pixs.length !== raw.pixx * raw.pixy)
    return labelErr('LABEL_RENDER_FAILED', `The ${type} encoder returned no module grid for "${content}".`);
  return ok({
    type,
    columns: raw.pixx,
    rows: raw.pixy,
    modules: Uint8Array.from(raw.pixs, (p) => (p ? 1 : 0)),
    quietZone: QUIET_ZONE[type],
  });
};

export const isDark = (m: SymbolMatrix, column: number, row: number): boolean =>
  m.modules[row * m.columns + column] === 1;

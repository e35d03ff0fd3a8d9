import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import type { SymbolMatrix } from './symbol';
import type { LabelTemplate } from './template-schema';

/**
 * Where things go on a label, in printer dots, computed once and followed by every output (ZPL,
 * PNG, PDF), so the preview, the file and the printed label agree. The symbol sits on the left,
 * vertically centred, as large as the height allows (or the template's size); text lines share
 * the rest, each shrunk to fit its width.
 */
export interface LabelLayout {
  readonly dpi: number;
  readonly widthDots: number;
  readonly heightDots: number;
  readonly symbol: {
    readonly x: number;
    readonly y: number;
    readonly moduleDots: number;
    readonly columns: number;
    readonly rows: number;
  };
  readonly lines: readonly LayoutLine[];
}

export interface LayoutLine {
  readonly text: string;
  readonly x: number;
  /** Top of the line's character cell. */
  readonly y: number;
  /** Character cell height (ZPL's font height). */
  readonly heightDots: number;
  /** Room to the right edge (less the margin); longer text is clipped there. */
  readonly boxWidthDots: number;
}

/** Average advance of a character as a share of its cell height (OCR-B's is exactly 0.6). */
export const CHAR_ADVANCE = 0.6;
/** Smallest module a line scanner reads reliably on thermal labels, in mm. */
const MIN_MODULE_MM = 0.2;
/** Text never grows past this height, in mm, however tall the label. */
const MAX_TEXT_MM = 4;
/** Lines share one size unless that would make them smaller than this, in mm. */
const MIN_COMMON_TEXT_MM = 1.8;
/** Text narrower than this is not worth a line. */
const MIN_TEXT_BOX_MM = 6;

export const dotsPerMm = (dpi: number): number => dpi / 25.4;

export const layoutLabel = (
  template: Pick<LabelTemplate, 'size' | 'symbol'>,
  symbol: SymbolMatrix,
  lines: readonly string[],
): Result<LabelLayout, LabelErrorCode> => {
  const { dpi } = template.size;
  const dpmm = dotsPerMm(dpi);
  const W = Math.round(template.size.widthMm * dpmm);
  const H = Math.round(template.size.heightMm * dpmm);
  const margin = Math.round(template.size.marginMm * dpmm);
  const n = Math.max(symbol.columns, symbol.rows);
  const minModule = Math.max(1, Math.ceil(MIN_MODULE_MM * dpmm));
  // Without text the symbol may take the whole width; with text it leaves the larger share.
  const widthLimit = lines.length > 0 ? Math.floor((W - 2 * margin) * 0.6) : W - 2 * margin;
  const wanted = template.symbol.sizeMm ? Math.round(template.symbol.sizeMm * dpmm) : H;
  let moduleDots = Math.floor(Math.min(wanted, H - 2 * margin, widthLimit) / n);
  // The quiet zone may be wider than the margin (QR's is four modules): shrink until it fits.
  const edge = (md: number) => Math.max(margin, symbol.quietZone * md);
  while (
    moduleDots >= minModule &&
    (n * moduleDots + 2 * edge(moduleDots) > H || n * moduleDots + 2 * edge(moduleDots) > W)
  )
    moduleDots--;
  if (moduleDots < minModule)
    return labelErr(
      'LABEL_TOO_SMALL',
      `A ${n}×${n} ${symbol.type} needs modules of at least ${MIN_MODULE_MM} mm; it does not fit on a ${template.size.widthMm}×${template.size.heightMm} mm label at ${dpi} dpi.`,
      { details: { modules: n, dpi } },
    );
  const side = n * moduleDots;
  const symX = edge(moduleDots);
  const symY = Math.max(edge(moduleDots), Math.floor((H - side) / 2));

  const textX = symX + side + edge(moduleDots);
  const boxWidth = W - margin - textX;
  if (lines.length > 0 && boxWidth < MIN_TEXT_BOX_MM * dpmm)
    return labelErr(
      'LABEL_TOO_SMALL',
      `The symbol leaves ${(boxWidth / dpmm).toFixed(1)} mm for text; make the label wider or the symbol smaller.`,
      { details: { textWidthMm: boxWidth / dpmm } },
    );
  const pitch = lines.length > 0 ? Math.floor((H - 2 * margin) / lines.length) : 0;
  const cell = Math.min(Math.floor(pitch * 0.85), Math.round(MAX_TEXT_MM * dpmm));
  const fits = lines.map((text) => Math.floor(boxWidth / (Math.max(1, [...text].length) * CHAR_ADVANCE)));
  // One size for every line reads as one label; only a line too long even at the floor size
  // gets smaller on its own.
  const common = Math.min(cell, Math.max(Math.round(MIN_COMMON_TEXT_MM * dpmm), Math.min(...fits)));
  const laid = lines.map((text, i): LayoutLine => {
    const heightDots = Math.max(1, Math.min(common, fits[i] ?? common));
    return {
      text,
      x: textX,
      y: margin + i * pitch + Math.floor((pitch - heightDots) / 2),
      heightDots,
      boxWidthDots: boxWidth,
    };
  });
  return ok({
    dpi,
    widthDots: W,
    heightDots: H,
    symbol: { x: symX, y: symY, moduleDots, columns: symbol.columns, rows: symbol.rows },
    lines: laid,
  });
};

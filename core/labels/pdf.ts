import { PDFDocument, type PDFFont, rgb, StandardFonts } from 'pdf-lib';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import type { LabelRecord } from './label-record';
import { type PreparedLabel, prepareLabel } from './prepare';
import { isDark } from './symbol';
import type { LabelTemplate } from './template-schema';

/**
 * A label as a one-page PDF the size of the label, for CUPS queues and label files: the symbol's
 * modules as filled rectangles (vector, so any printer resolution keeps them sharp) and text in
 * Helvetica, one of the fonts every PDF reader has, so nothing is embedded.
 */

const POINTS_PER_INCH = 72;
const BLACK = rgb(0, 0, 0);

/** Helvetica covers WinAnsi only: anything else prints as a question mark rather than failing. */
const encodable = (font: PDFFont, text: string): string => {
  const supported = new Set(font.getCharacterSet());
  return [...text].map((ch) => (supported.has(ch.codePointAt(0) ?? 0) ? ch : '?')).join('');
};

/** Drops characters from the end until the text fits its box. */
const fitted = (font: PDFFont, text: string, size: number, width: number): string => {
  let t = text;
  while (t.length > 0 && font.widthOfTextAtSize(t, size) > width) t = t.slice(0, -1);
  return t;
};

export const pdfFromLayout = async (prepared: PreparedLabel, title: string): Promise<Uint8Array> => {
  const { layout, symbol } = prepared;
  const pt = POINTS_PER_INCH / layout.dpi;
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  doc.setProducer('linestation');
  doc.setCreator('linestation');
  const page = doc.addPage([layout.widthDots * pt, layout.heightDots * pt]);
  const pageHeight = layout.heightDots * pt;
  const s = layout.symbol;
  const m = s.moduleDots * pt;
  // One rectangle per horizontal run of dark modules keeps the file small.
  for (let row = 0; row < symbol.rows; row++) {
    let col = 0;
    while (col < symbol.columns) {
      if (!isDark(symbol, col, row)) {
        col++;
        continue;
      }
      const start = col;
      while (col < symbol.columns && isDark(symbol, col, row)) col++;
      page.drawRectangle({
        x: (s.x + start * s.moduleDots) * pt,
        y: pageHeight - (s.y + (row + 1) * s.moduleDots) * pt,
        width: (col - start) * m,
        height: m,
        color: BLACK,
        borderWidth: 0,
      });
    }
  }
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const line of layout.lines) {
    const size = line.heightDots * pt;
    const text = fitted(font, encodable(font, line.text), size, line.boxWidthDots * pt);
    if (text.length === 0) continue;
    page.drawText(text, {
      x: line.x * pt,
      y: pageHeight - (line.y + line.heightDots * 0.8) * pt,
      size,
      font,
      color: BLACK,
    });
  }
  return doc.save({ useObjectStreams: false });
};

export interface RenderedPdf {
  readonly pdf: Uint8Array;
  readonly content: string;
}

export const renderLabelPdf = async (
  template: LabelTemplate,
  record: LabelRecord,
): Promise<Result<RenderedPdf, LabelErrorCode>> => {
  const prepared = prepareLabel(template, record);
  if (!prepared.ok) return prepared;
  try {
    const pdf = await pdfFromLayout(prepared.value, `Label ${prepared.value.content}`);
    return ok({ pdf, content: prepared.value.content });
  } catch (e) {
    return labelErr('LABEL_RENDER_FAILED', `The label PDF could not be made: ${String(e)}`);
  }
};

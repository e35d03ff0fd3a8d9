import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { renderLabelPdf } from '../../core/labels/pdf';
import { prepareLabel } from '../../core/labels/prepare';
import { decodeSymbol, hasPdftoppm, rasterisePdf } from './decode';
import { symbolRegion, template } from './helpers';

describe('PDF labels', () => {
  it('are one page the size of the label, titled with the key', async () => {
    const r = await renderLabelPdf(template(), SAMPLE_LABEL_RECORD);
    if (!r.ok) throw new Error(r.error.message);
    const doc = await PDFDocument.load(r.value.pdf);
    expect(doc.getPageCount()).toBe(1);
    const { width, height } = doc.getPage(0).getSize();
    // 400 × 200 dots at 203 dpi, in points.
    expect(width).toBeCloseTo((400 * 72) / 203, 3);
    expect(height).toBeCloseTo((200 * 72) / 203, 3);
    expect(doc.getTitle()).toBe(`Label ${SAMPLE_LABEL_RECORD.serial}`);
  });

  describe.skipIf(!hasPdftoppm)('rasterised by pdftoppm', () => {
    it('the Data Matrix decodes to the record', async () => {
      const t = template();
      const r = await renderLabelPdf(t, SAMPLE_LABEL_RECORD);
      const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
      if (!r.ok || !prepared.ok) throw new Error('render failed');
      const png = rasterisePdf(r.value.pdf, 300);
      expect(decodeSymbol(png, 'datamatrix', symbolRegion(prepared.value.layout, 300 / 203))).toBe(
        SAMPLE_LABEL_RECORD.serial,
      );
    });

    it('a QR code of the ICCID decodes to the record', async () => {
      const t = template({ symbol: { type: 'qr', content: 'iccid' } });
      const r = await renderLabelPdf(t, SAMPLE_LABEL_RECORD);
      const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
      if (!r.ok || !prepared.ok) throw new Error('render failed');
      const png = rasterisePdf(r.value.pdf, 300);
      expect(decodeSymbol(png, 'qr', symbolRegion(prepared.value.layout, 300 / 203))).toBe(
        SAMPLE_LABEL_RECORD.iccid,
      );
    });
  });
  if (!hasPdftoppm) it.skip('rasterising needs pdftoppm (apt-get install poppler-utils)', () => undefined);
});

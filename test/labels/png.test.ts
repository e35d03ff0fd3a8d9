import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { renderLabelPng } from '../../core/labels/png';
import { prepareLabel } from '../../core/labels/prepare';
import { decodeSymbol } from './decode';
import { symbolRegion, template } from './helpers';

/** pHYs: pixels per unit X and Y (4 bytes each), unit 1 = metre. */
const physicalDpi = (png: Buffer): number | undefined => {
  const at = png.indexOf('pHYs', 8, 'latin1');
  return at < 0 ? undefined : Math.round(png.readUInt32BE(at + 4) * 0.0254);
};

describe('PNG labels', () => {
  it('are the label size at the printer resolution, with a pHYs chunk so they print true to size', () => {
    const r = renderLabelPng(template(), SAMPLE_LABEL_RECORD);
    if (!r.ok) throw new Error(r.error.message);
    const img = PNG.sync.read(r.value.png);
    expect([img.width, img.height]).toEqual([400, 200]); // 50 × 25 mm at 8 dots/mm
    expect(physicalDpi(r.value.png)).toBe(203);
  });

  it('carry a Data Matrix that decodes to the record, and text in the text area only', () => {
    const t = template();
    const r = renderLabelPng(t, SAMPLE_LABEL_RECORD);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!r.ok || !prepared.ok) throw new Error('render failed');
    const layout = prepared.value.layout;
    expect(decodeSymbol(r.value.png, 'datamatrix', symbolRegion(layout))).toBe(SAMPLE_LABEL_RECORD.serial);
    // Ink right of the symbol lies inside the text lines' boxes: nothing overflows the margin.
    const img = PNG.sync.read(r.value.png);
    const margin = Math.round(1.5 * 8);
    for (let y = 0; y < img.height; y++)
      for (let x = img.width - margin + 1; x < img.width; x++)
        expect(img.data[(y * img.width + x) * 4]).toBe(255);
  });

  it('carry a QR code of the device ID at 600 dpi', () => {
    const t = template({
      size: { widthMm: 40, heightMm: 20, dpi: 600 },
      symbol: { type: 'qr', content: 'deviceId' },
    });
    const r = renderLabelPng(t, SAMPLE_LABEL_RECORD);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!r.ok || !prepared.ok) throw new Error('render failed');
    expect(physicalDpi(r.value.png)).toBe(600);
    expect(decodeSymbol(r.value.png, 'qr', symbolRegion(prepared.value.layout))).toBe(
      SAMPLE_LABEL_RECORD.deviceId,
    );
  });

  it('draw a symbol-only label, and text the font lacks without failing', () => {
    const t = template({ lines: [] });
    const bare = renderLabelPng(t, SAMPLE_LABEL_RECORD);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!bare.ok || !prepared.ok) throw new Error('render failed');
    expect(decodeSymbol(bare.value.png, 'datamatrix', symbolRegion(prepared.value.layout))).toBe(
      SAMPLE_LABEL_RECORD.serial,
    );
    const accents = renderLabelPng(template(), { ...SAMPLE_LABEL_RECORD, productName: 'Zähler €' });
    expect(accents.ok).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { renderZplImage } from '../../core/labels/preview';
import { renderZpl, zplFieldData, zplSymbolContents } from '../../core/labels/zpl';
import { decodeSymbol } from './decode';
import { symbolRegion, template } from './helpers';

/**
 * The ZPL we send, drawn by zpl-renderer-js (Zebrash, an independent ZPL renderer) and read
 * back by ZXing: the symbol the printer makes from our ZPL must carry the device's key.
 */
describe('ZPL', () => {
  it('a Data Matrix (^BX) of the serial: rendered, decoded, equal to the record', async () => {
    const t = template();
    const z = renderZpl(t, SAMPLE_LABEL_RECORD);
    expect(z.ok).toBe(true);
    if (!z.ok) return;
    expect(z.value.zpl).toMatch(/\^BXN,\d+,200/);
    expect(z.value.zpl.startsWith('^XA')).toBe(true);
    expect(z.value.zpl.trimEnd().endsWith('^XZ')).toBe(true);
    const image = await renderZplImage(z.value.zpl, t.size);
    expect(image.ok).toBe(true);
    if (!image.ok) return;
    expect(decodeSymbol(image.value, 'datamatrix', symbolRegion(z.value.layout))).toBe(
      SAMPLE_LABEL_RECORD.serial,
    );
    expect(zplSymbolContents(z.value.zpl)).toEqual([
      { type: 'datamatrix', content: SAMPLE_LABEL_RECORD.serial },
    ]);
  });

  it('a QR code (^BQ) of the device ID at 300 dpi: rendered, decoded, equal to the record', async () => {
    const t = template({
      size: { widthMm: 60, heightMm: 30, dpi: 300 },
      symbol: { type: 'qr', content: 'deviceId' },
    });
    const z = renderZpl(t, SAMPLE_LABEL_RECORD);
    if (!z.ok) throw new Error(z.error.message);
    expect(z.value.zpl).toMatch(/\^BQN,2,\d+\^FH\^FDMA,/);
    const image = await renderZplImage(z.value.zpl, t.size);
    if (!image.ok) throw new Error(image.error.message);
    expect(decodeSymbol(image.value, 'qr', symbolRegion(z.value.layout))).toBe(SAMPLE_LABEL_RECORD.deviceId);
    expect(zplSymbolContents(z.value.zpl)).toEqual([{ type: 'qr', content: SAMPLE_LABEL_RECORD.deviceId }]);
  });

  it('every field is ^FH-escaped: a product name cannot inject ZPL commands', async () => {
    const record = { ...SAMPLE_LABEL_RECORD, productName: 'Evil^XZ^XA~JA_Müller' };
    const z = renderZpl(template(), record);
    if (!z.ok) throw new Error(z.error.message);
    // One format, and no tilde command at all (a tilde command runs the moment it is read).
    expect(z.value.zpl.match(/\^XA/g)).toHaveLength(1);
    expect(z.value.zpl.match(/\^XZ/g)).toHaveLength(1);
    expect(z.value.zpl).not.toContain('~');
    expect(z.value.zpl).toContain('^FDEvil_5EXZ_5EXA_7EJA_5FM_C3_BCller^FS');
    expect(/^[\x20-\x7e\n]*$/.test(z.value.zpl)).toBe(true);
    const image = await renderZplImage(z.value.zpl, template().size);
    if (!image.ok) throw new Error(image.error.message);
    expect(decodeSymbol(image.value, 'datamatrix', symbolRegion(z.value.layout))).toBe(record.serial);
  });

  it('the ^FD parser undoes ^FH escapes (the check used on jobs the fake printer records)', () => {
    const zpl = `^XA^FO0,0^BXN,4,200^FH^FD${zplFieldData('A^B~C_D')}^FS^XZ`;
    expect(zplSymbolContents(zpl)).toEqual([{ type: 'datamatrix', content: 'A^B~C_D' }]);
  });

  it('a label too small for its symbol is LABEL_TOO_SMALL, not a label no scanner reads', () => {
    const t = template({
      size: { widthMm: 10, heightMm: 5, marginMm: 0.5 },
      symbol: { content: 'deviceId' },
    });
    const z = renderZpl(t, SAMPLE_LABEL_RECORD);
    expect(!z.ok && z.error.code).toBe('LABEL_TOO_SMALL');
  });
});

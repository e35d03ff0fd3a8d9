import { describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { prepareLabel } from '../../core/labels/prepare';
import { previewLabel } from '../../core/labels/preview';
import { decodeSymbol } from './decode';
import { symbolRegion, template } from './helpers';

describe('live preview', () => {
  it('for a ZPL printer: our ZPL drawn by the ZPL renderer, with sample data, decodable', async () => {
    const t = template();
    const p = await previewLabel(t);
    if (!p.ok) throw new Error(p.error.message);
    expect(p.value.source).toBe('zpl-renderer');
    expect(p.value.zpl).toContain('^BXN');
    expect(p.value.content).toBe(SAMPLE_LABEL_RECORD.serial);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(decodeSymbol(p.value.png, 'datamatrix', symbolRegion(prepared.value.layout))).toBe(
      SAMPLE_LABEL_RECORD.serial,
    );
  });

  it('for CUPS and files: our own PNG, which is what they get', async () => {
    const p = await previewLabel(template({ printer: { kind: 'file', dir: '/tmp/x', format: 'png' } }));
    expect(p.ok && p.value.source).toBe('png');
  });

  it('says why a template cannot make a label, in the same words the station would', async () => {
    const p = await previewLabel(template({ symbol: { content: 'iccid' } }), {
      ...SAMPLE_LABEL_RECORD,
      iccid: undefined,
    });
    expect(!p.ok && p.error.code).toBe('LABEL_FIELD_MISSING');
  });
});

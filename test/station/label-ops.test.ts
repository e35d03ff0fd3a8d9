import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { zplSymbolContents } from '../../core/labels/zpl';
import {
  labelFormatOf,
  labelJobsReport,
  previewProfileLabel,
  profileLabel,
  renderLabelAs,
} from '../../core/station/label-ops';
import { openLog, tempDir } from '../store/helpers';
import { type LabelLine, startLabelLine } from './label-rig';

/* The label operations the shells call outside a batch (the CLI's and the app's). */

let line: LabelLine;
beforeAll(async () => {
  line = await startLabelLine({ slots: 1 });
});
afterAll(() => line?.close());

describe('label operations', () => {
  it('takes the file format from the name', () => {
    expect(['a.png', 'b.PDF', 'c.zpl', 'd.jpg', 'png'].map(labelFormatOf)).toEqual([
      'png',
      'pdf',
      'zpl',
      undefined,
      undefined,
    ]);
  });

  it('renders the profile’s label with sample data in each format', async () => {
    const p = await profileLabel(line.profilePath);
    if (!p.ok) throw new Error(p.error.message);
    const zpl = await renderLabelAs(p.value.template, 'zpl');
    expect(zpl.ok && zplSymbolContents(Buffer.from(zpl.value.bytes).toString('utf8'))).toEqual([
      { type: 'datamatrix', content: SAMPLE_LABEL_RECORD.deviceId },
    ]);
    const png = await previewProfileLabel(line.profilePath, 'png');
    expect(png.ok && Buffer.from(png.value.bytes).subarray(1, 4).toString()).toBe('PNG');
    const pdf = await previewProfileLabel(line.profilePath, 'pdf');
    expect(pdf.ok && Buffer.from(pdf.value.bytes).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('says when a profile has no label, and when a log has no batch', async () => {
    const bare = await startLabelLine({ withoutLabel: true });
    try {
      const r = await profileLabel(bare.profilePath);
      expect(!r.ok && r.error.code).toBe('LABEL_NOT_CONFIGURED');
    } finally {
      await bare.close();
    }
    const { log } = openLog(tempDir());
    expect(labelJobsReport(log)).toMatchObject({ ok: false, error: { code: 'BATCH_NOT_FOUND' } });
    log.close();
  });
});

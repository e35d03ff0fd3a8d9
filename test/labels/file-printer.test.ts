import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelFileName } from '../../core/labels/file-printer';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { prepareLabel } from '../../core/labels/prepare';
import { labelPrinter } from '../../core/labels/printer';
import { decodeSymbol, hasPdftoppm, rasterisePdf } from './decode';
import { symbolRegion, tempDir, template } from './helpers';

describe('label files (stations without a printer)', () => {
  it('writes one PNG per label job, named by lot, key and job, that scans as the record', async () => {
    const dir = join(tempDir(), 'labels');
    const t = template({ printer: { kind: 'file', dir, format: 'png' } });
    const r = await labelPrinter(t).print({ jobId: 7, record: SAMPLE_LABEL_RECORD });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.output).toBe(join(dir, 'LOT-2026-0142_P046AB1234567_job7.png'));
    expect(readdirSync(dir)).toEqual(['LOT-2026-0142_P046AB1234567_job7.png']);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(
      decodeSymbol(readFileSync(r.value.output), 'datamatrix', symbolRegion(prepared.value.layout)),
    ).toBe(SAMPLE_LABEL_RECORD.serial);
  });

  it.skipIf(!hasPdftoppm)('writes a PDF that scans as the record', async () => {
    const dir = tempDir();
    const t = template({
      printer: { kind: 'file', dir, format: 'pdf' },
      symbol: { type: 'qr', content: 'deviceId' },
    });
    const r = await labelPrinter(t).print({ jobId: 8, record: SAMPLE_LABEL_RECORD });
    if (!r.ok) throw new Error(r.error.message);
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!prepared.ok) throw new Error(prepared.error.message);
    const png = rasterisePdf(readFileSync(r.value.output), 300);
    expect(decodeSymbol(png, 'qr', symbolRegion(prepared.value.layout, 300 / 203))).toBe(
      SAMPLE_LABEL_RECORD.deviceId,
    );
  });

  it('a folder that cannot be written is LABEL_FILE_WRITE_FAILED and leaves no partial file', async () => {
    const blocker = join(tempDir(), 'not-a-dir');
    writeFileSync(blocker, 'x');
    const t = template({ printer: { kind: 'file', dir: join(blocker, 'labels'), format: 'png' } });
    const r = await labelPrinter(t).print({ jobId: 9, record: SAMPLE_LABEL_RECORD });
    expect(!r.ok && r.error.code).toBe('LABEL_FILE_WRITE_FAILED');
    const readOnly = tempDir();
    chmodSync(readOnly, 0o500);
    const r2 = await labelPrinter(
      template({ printer: { kind: 'file', dir: readOnly, format: 'png' } }),
    ).print({
      jobId: 10,
      record: SAMPLE_LABEL_RECORD,
    });
    // root ignores directory permissions; anyone else is refused.
    if (process.getuid?.() !== 0) expect(!r2.ok && r2.error.code).toBe('LABEL_FILE_WRITE_FAILED');
    expect(readdirSync(readOnly).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('keeps file names safe whatever the lot is called', () => {
    expect(labelFileName({ lot: '../../etc/passwd lot', content: 'P0/1', jobId: 3 }, 'pdf')).toBe(
      '..-..-etc-passwd-lot_P0-1_job3.pdf',
    );
  });
});

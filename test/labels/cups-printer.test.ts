import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cupsQueueStatus, printCups } from '../../core/labels/cups-printer';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { renderLabelPdf } from '../../core/labels/pdf';
import { prepareLabel } from '../../core/labels/prepare';
import { labelPrinter } from '../../core/labels/printer';
import { decodeSymbol, hasPdftoppm, rasterisePdf } from './decode';
import { symbolRegion, template } from './helpers';
import { cupsUnavailable, type PrivateCups, startPrivateCups } from './private-cups';

const pdfOf = async () => {
  const r = await renderLabelPdf(
    template({ printer: { kind: 'cups', queue: 'labels' } }),
    SAMPLE_LABEL_RECORD,
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.value.pdf;
};

describe('CUPS without lp', () => {
  it('is LABEL_CUPS_MISSING, naming the package', async () => {
    const r = await printCups(
      'labels',
      { pdf: await pdfOf(), title: 't' },
      { env: { PATH: '/nonexistent' } },
    );
    expect(!r.ok && r.error.code).toBe('LABEL_CUPS_MISSING');
    expect(!r.ok && r.error.remedy).toMatch(/cups-client/);
  });
});

const unavailable = cupsUnavailable();
if (unavailable) console.warn(`CUPS tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('CUPS with a private cupsd and a file-backed queue', () => {
  let cups: PrivateCups | undefined;
  let skipped: string | undefined;
  beforeAll(async () => {
    const started = await startPrivateCups();
    if ('skip' in started) {
      skipped = started.skip;
      console.warn(`CUPS tests skipped: ${skipped}`);
    } else cups = started;
  });
  afterAll(async () => {
    await cups?.stop();
  });

  it('prints the label PDF through lp; the file queue writes exactly that PDF, and it scans as the record', async (ctx) => {
    if (!cups) return ctx.skip();
    const file = cups.addFileQueue('labels');
    const t = template({ printer: { kind: 'cups', queue: 'labels' } });
    const pdf = await pdfOf();
    const r = await printCups(
      'labels',
      { pdf, title: 'Label', widthMm: 50, heightMm: 25 },
      { server: cups.server },
    );
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value.requestId).toMatch(/^labels-\d+$/);
    const written = await cups.output(file, pdf.length);
    expect(written && Buffer.compare(written, Buffer.from(pdf))).toBe(0);
    if (!hasPdftoppm || !written) return;
    const prepared = prepareLabel(t, SAMPLE_LABEL_RECORD);
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(
      decodeSymbol(rasterisePdf(written, 300), 'datamatrix', symbolRegion(prepared.value.layout, 300 / 203)),
    ).toBe(SAMPLE_LABEL_RECORD.serial);
  });

  it('a cups target in the template renders the PDF and sends it', async (ctx) => {
    if (!cups) return ctx.skip();
    const file = cups.addFileQueue('line1');
    const printer = labelPrinter(template({ printer: { kind: 'cups', queue: 'line1' } }), {
      cups: { server: cups.server },
    });
    const r = await printer.print({ jobId: 1, record: SAMPLE_LABEL_RECORD });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({ target: 'cups', content: SAMPLE_LABEL_RECORD.serial });
    expect((await cups.output(file, 1))?.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('an unknown queue is LABEL_CUPS_QUEUE_UNKNOWN', async (ctx) => {
    if (!cups) return ctx.skip();
    const r = await printCups('no-such-queue', { pdf: await pdfOf(), title: 't' }, { server: cups.server });
    expect(!r.ok && r.error.code).toBe('LABEL_CUPS_QUEUE_UNKNOWN');
  });

  it('a stopped queue is LABEL_CUPS_DISABLED with its reason, and CUPS is not handed the label', async (ctx) => {
    if (!cups) return ctx.skip();
    cups.addFileQueue('stopped');
    cups.disable('stopped', 'Media empty');
    const r = await printCups('stopped', { pdf: await pdfOf(), title: 't' }, { server: cups.server });
    expect(!r.ok && r.error.code).toBe('LABEL_CUPS_DISABLED');
    expect(!r.ok && r.error.message).toMatch(/Media empty/);
    const status = await cupsQueueStatus('stopped', { server: cups.server });
    expect(!status.ok && status.error.code).toBe('LABEL_CUPS_DISABLED');
    expect(cups.queuedJobs('stopped')).toEqual([]);
  });

  it('a queue that refuses jobs is LABEL_CUPS_REJECTING', async (ctx) => {
    if (!cups) return ctx.skip();
    cups.addFileQueue('closed');
    cups.reject('closed');
    const r = await printCups('closed', { pdf: await pdfOf(), title: 't' }, { server: cups.server });
    expect(!r.ok && r.error.code).toBe('LABEL_CUPS_REJECTING');
  });

  it('a scheduler that is not running is LABEL_CUPS_UNREACHABLE', async (ctx) => {
    if (!cups) return ctx.skip();
    await cups.stop();
    const r = await printCups('labels', { pdf: await pdfOf(), title: 't' }, { server: cups.server });
    expect(!r.ok && r.error.code).toBe('LABEL_CUPS_UNREACHABLE');
  });
});

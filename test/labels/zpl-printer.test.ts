import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { renderZplImage } from '../../core/labels/preview';
import { renderZpl, zplSymbolContents } from '../../core/labels/zpl';
import { printZpl, queryZplStatus } from '../../core/labels/zpl-printer';
import { decodeSymbol } from './decode';
import { type FakeZplPrinter, startFakeZplPrinter } from './fake-zpl-printer';
import { symbolRegion, template } from './helpers';

const label = () => {
  const z = renderZpl(template(), SAMPLE_LABEL_RECORD);
  if (!z.ok) throw new Error(z.error.message);
  return z.value;
};

describe('ZPL printer over TCP (against the fake printer)', () => {
  let printer: FakeZplPrinter;
  // Roomy, so a loaded machine never turns a slow answer into NO_ANSWER; the silent-printer case
  // uses a short one so it ends quickly. Nothing here asserts on elapsed time.
  const target = (timeoutMs = 10_000) => ({ host: printer.host, port: printer.port, timeoutMs });
  beforeEach(async () => {
    printer = await startFakeZplPrinter();
  });
  afterEach(() => printer.close());

  it('asks ~HS first, sends the label, and confirms with a second ~HS; the label scans as the record', async () => {
    const z = label();
    const r = await printZpl(target(), z.zpl);
    expect(r.ok).toBe(true);
    expect(printer.statusQueries()).toBe(2);
    const jobs = printer.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.zpl).toBe(z.zpl.trim());
    expect(zplSymbolContents(jobs[0]?.zpl ?? '')).toEqual([
      { type: 'datamatrix', content: SAMPLE_LABEL_RECORD.serial },
    ]);
    const image = await renderZplImage(jobs[0]?.zpl ?? '', template().size);
    if (!image.ok) throw new Error(image.error.message);
    expect(decodeSymbol(image.value, 'datamatrix', symbolRegion(z.layout))).toBe(SAMPLE_LABEL_RECORD.serial);
  });

  it.each([
    ['paperOut', 'LABEL_PRINTER_PAPER_OUT'],
    ['headOpen', 'LABEL_PRINTER_HEAD_OPEN'],
    ['paused', 'LABEL_PRINTER_PAUSED'],
    ['ribbonOut', 'LABEL_PRINTER_RIBBON_OUT'],
  ] as const)('%s: %s, and nothing is sent', async (state, code) => {
    printer.set({ [state]: true });
    const r = await printZpl(target(), label().zpl);
    expect(!r.ok && r.error.code).toBe(code);
    expect(!r.ok && r.error.details?.maybePrinted).toBeUndefined();
    expect(printer.jobs()).toHaveLength(0);
  });

  it('a printer that accepts but never answers is not ready: LABEL_PRINTER_NO_ANSWER, nothing sent', async () => {
    printer.set({ noAnswer: true });
    const r = await printZpl(target(300), label().zpl);
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_NO_ANSWER');
    expect(!r.ok && r.error.details?.maybePrinted).toBe(false);
    expect(printer.jobs()).toHaveLength(0);
  });

  it('a closed port is LABEL_PRINTER_UNREACHABLE', async () => {
    await printer.unlisten();
    const r = await printZpl(target(), label().zpl);
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_UNREACHABLE');
    expect(!r.ok && r.error.message).toContain(`127.0.0.1:${printer.port}`);
  });

  it('a connection dropped mid-label is LABEL_PRINTER_DROPPED, marked as maybe printed, and nothing printed', async () => {
    printer.set({ dropMidJob: 1 });
    const r = await printZpl(target(), label().zpl);
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_DROPPED');
    expect(!r.ok && r.error.details?.maybePrinted).toBe(true);
    expect(printer.jobs()).toHaveLength(0);
  });

  it('a connection dropped after the label, before the confirmation, says it may have printed (it did)', async () => {
    printer.set({ dropAfterJob: 1 });
    const r = await printZpl(target(), label().zpl);
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_DROPPED');
    expect(!r.ok && r.error.details?.maybePrinted).toBe(true);
    expect(printer.jobs()).toHaveLength(1);
  });

  it('reports status without printing', async () => {
    printer.set({ paperOut: true });
    const r = await queryZplStatus(target());
    expect(r.ok && r.value.paperOut).toBe(true);
    expect(printer.jobs()).toHaveLength(0);
  });

  it('cancels at once when asked', async () => {
    printer.set({ noAnswer: true });
    const controller = new AbortController();
    const pending = printZpl(target(60_000), label().zpl, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const r = await pending;
    expect(!r.ok && r.error.code).toBe('ABORTED');
  });
});

describe('ZPL printer: something else on the port', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a web server answering ~HS is LABEL_PRINTER_BAD_STATUS, and no label is sent', async () => {
    let received = '';
    server = createServer((s) => {
      s.on('data', (d) => {
        received += d.toString('latin1');
        s.end('HTTP/1.1 400 Bad Request\r\n\r\n\x02\x03\x02\x03\x02\x03');
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const r = await printZpl({ host: '127.0.0.1', port, timeoutMs: 10_000 }, label().zpl);
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_BAD_STATUS');
    expect(received).toBe('~HS');
  });
});

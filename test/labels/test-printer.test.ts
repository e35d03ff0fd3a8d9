import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testLabelPrinter } from '../../core/labels/test-printer';
import { type FakeZplPrinter, startFakeZplPrinter } from './fake-zpl-printer';
import { tempDir } from './helpers';

describe('Test printer (the engineer asks without printing)', () => {
  let printer: FakeZplPrinter;
  const target = () => ({ kind: 'zpl' as const, host: printer.host, port: printer.port, timeoutMs: 10_000 });
  beforeEach(async () => {
    printer = await startFakeZplPrinter();
  });
  afterEach(() => printer.close());

  it('a ready ZPL printer says so and prints nothing', async () => {
    const r = await testLabelPrinter(target());
    expect(r.ok && r.value.message).toBe(`The label printer at 127.0.0.1:${printer.port} is ready.`);
    expect(printer.jobs()).toEqual([]);
    expect(printer.statusQueries()).toBe(1);
  });

  it('a printer out of labels is named, as the print loop would name it', async () => {
    printer.set({ paperOut: true });
    const r = await testLabelPrinter(target());
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_PAPER_OUT');
  });

  it('a closed port is LABEL_PRINTER_UNREACHABLE', async () => {
    await printer.unlisten();
    const r = await testLabelPrinter(target());
    expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_UNREACHABLE');
  });

  it('a label folder must exist and be writable', async () => {
    const dir = tempDir();
    const ok = await testLabelPrinter({ kind: 'file', dir, format: 'pdf' });
    expect(ok.ok && ok.value.target).toBe(dir);
    const missing = await testLabelPrinter({ kind: 'file', dir: join(dir, 'nope'), format: 'png' });
    expect(!missing.ok && missing.error.code).toBe('LABEL_FILE_WRITE_FAILED');
    // Root ignores permissions, so the read-only case runs only for other users.
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      const r = await testLabelPrinter({ kind: 'file', dir: ro, format: 'pdf' });
      expect(!r.ok && r.error.code).toBe('LABEL_FILE_WRITE_FAILED');
    }
  });
});

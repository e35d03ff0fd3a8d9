import { afterEach, describe, expect, it } from 'vitest';
import type { AppServiceOptions } from '../../../core/app/context';
import { type AppService, createAppService } from '../../../core/app/service';
import type { StationState } from '../../../core/contract/station';
import { SAMPLE_LABEL_RECORD } from '../../../core/labels/label-record';
import { labelTemplateSchema } from '../../../core/labels/template-schema';
import { renderZpl, zplSymbolContents } from '../../../core/labels/zpl';
import { decodeSymbol } from '../../labels/decode';
import { type FakeZplPrinter, startFakeZplPrinter } from '../../labels/fake-zpl-printer';
import { symbolRegion } from '../../labels/helpers';
import { addLabel, labelTemplate } from '../../station/label-rig';
import { type SimLine, startSimLine } from '../line-fixture';

/*
 * Labels in the desktop app's core (core/app: the Line, the label handlers): a simulated line
 * whose locked profile prints to the fake ZPL printer on 127.0.0.1.
 */

let line: SimLine | undefined;
let app: AppService | undefined;
let printer: FakeZplPrinter | undefined;
afterEach(async () => {
  await app?.dispose();
  await line?.close();
  await printer?.close();
  app = line = printer = undefined;
});

const start = async (role: 'operator' | 'engineer' = 'operator') => {
  printer = await startFakeZplPrinter();
  line = await startSimLine(2);
  await addLabel(line.profilePath, labelTemplate(printer), { ...line.options.env });
  const options: AppServiceOptions = {
    ...line.options,
    lineTuning: { ...line.options.lineTuning, labelBackoff: { baseMs: 20, maxMs: 100 } },
  };
  app = createAppService({ ...options, role });
  return { app, line, printer };
};

const until = (service: AppService, done: (s: StationState) => boolean): Promise<StationState> =>
  new Promise((resolve) => {
    const off = service.on((event, payload) => {
      if (event === 'station.changed' && done(payload as StationState)) {
        off();
        resolve(payload as StationState);
      }
    });
  });

const labelled = (state: StationState, s: 'pending' | 'printed') =>
  state.slots.filter((x) => x.state === 'passed' && x.deviceLabel?.state === s);

describe('labels in the app', () => {
  it('a PASS shows its label pending while the printer is out of labels, then printed; Print now tries at once', async () => {
    const { app, line, printer } = await start();
    expect((await app.invoke('batch.start', { lot: 'LOT-LA', operator: 'ana' })).ok).toBe(true);
    printer.set({ paperOut: true });
    const waiting = until(app, (s) =>
      labelled(s, 'pending').some((x) => x.deviceLabel?.problem !== undefined),
    );
    line.bus.plug(line.device('la'), line.ports[0] ?? '');
    const w = await waiting;
    const slot = labelled(w, 'pending')[0];
    expect(slot?.deviceLabel?.problem).toMatchObject({
      code: 'LABEL_PRINTER_PAPER_OUT',
      title: 'Label printer out of labels',
      remedy: 'Load a new label roll; the queued labels then print.',
    });
    expect(w.labels).toMatchObject({
      scanBack: true,
      target: `127.0.0.1:${printer.port}`,
      pending: 1,
      problem: { code: 'LABEL_PRINTER_PAPER_OUT' },
    });
    expect(
      w.log.some(
        (l) =>
          l.text ===
          'Labels waiting: Label printer out of labels. Load a new label roll; the queued labels then print.',
      ),
    ).toBe(true);
    expect(w.log.some((l) => l.level === 'pass' && l.text.endsWith('PASS, label pending.'))).toBe(true);

    printer.set({ paperOut: false });
    const printed = until(app, (s) => labelled(s, 'printed').length === 1);
    const now = await app.invoke('label.printNow', {});
    expect(now.ok).toBe(true);
    const p = await printed;
    expect(p.labels).toMatchObject({ pending: 0, printed: 1 });
    expect(p.labels?.problem).toBeUndefined();
    expect(printer.jobs()).toHaveLength(1);
  });

  it('the scan box checks printed labels: the right one verifies, a wrong one is LABEL_MISMATCH with both values', async () => {
    const { app, line } = await start();
    await app.invoke('batch.start', { lot: 'LOT-LB', operator: 'ana' });
    const printed = until(app, (s) => labelled(s, 'printed').length === 1);
    line.bus.plug(line.device('lb'), line.ports[0] ?? '');
    const device = labelled(await printed, 'printed')[0]?.deviceId ?? '';

    const wrong = await app.invoke('label.scan', { serial: 'P046WRONG' });
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(wrong.error).toMatchObject({
      code: 'LABEL_MISMATCH',
      details: { expected: device, scanned: 'P046WRONG' },
      remedy: 'Take this label off. Put the label for this device on it, and scan it again.',
    });
    const after = await app.invoke('station.state', {});
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.slots[0]?.deviceLabel).toMatchObject({
      verified: 'mismatch',
      mismatch: { expected: device, scanned: 'P046WRONG' },
    });
    expect(after.value.slots[0]?.state).toBe('passed');
    expect(after.value.log.some((l) => l.level === 'fail' && l.text.includes('LABEL MISMATCH'))).toBe(true);
    // Nothing is waiting to be paired by hand: scan-back replaced it.
    expect(after.value.pendingLabels).toEqual([]);

    const right = await app.invoke('label.scan', { serial: device.toUpperCase() });
    expect(right.ok && right.value).toMatchObject({
      mode: 'verify',
      verified: { deviceId: device, alreadyVerified: false },
    });
    const state = await app.invoke('station.state', {});
    expect(state.ok && state.value.slots[0]?.deviceLabel?.verified).toBe('verified');
    const rows = await app.invoke('batch.attempts', { lot: 'LOT-LB' });
    expect(rows.ok && rows.value.rows[0]).toMatchObject({ labelState: 'printed', labelVerified: 'verified' });
  });

  it('the batch view lists label jobs and reprints, audited with the operator’s name', async () => {
    const { app, line, printer } = await start();
    await app.invoke('batch.start', { lot: 'LOT-LC', operator: 'ana' });
    const printed = until(app, (s) => labelled(s, 'printed').length === 1);
    line.bus.plug(line.device('lc'), line.ports[0] ?? '');
    await printed;
    const jobs = await app.invoke('label.jobs', { lot: 'LOT-LC' });
    if (!jobs.ok) throw new Error(jobs.error.message);
    expect(jobs.value.counts).toEqual({ pending: 0, printed: 1, failed: 0 });
    const job = jobs.value.jobs[0];
    if (!job) throw new Error('no job');

    // Told once the reprint is printed and committed (the printer has it by then).
    const again = until(app, (st) => st.log.filter((l) => l.text.includes('label printed')).length === 2);
    const r = await app.invoke('label.reprint', { attemptId: job.attemptId, by: 'ana', reason: 'smudged' });
    expect(r.ok && r.value).toMatchObject({
      printsNow: true,
      job: { kind: 'reprint', requestedBy: 'ana', reason: 'smudged' },
    });
    await again;
    expect(printer.jobs().map((j) => zplSymbolContents(j.zpl)[0]?.content)).toEqual([
      job.content,
      job.content,
    ]);
    const after = await app.invoke('label.jobs', { lot: 'LOT-LC' });
    expect(after.ok && after.value.jobs.map((j) => [j.kind, j.state])).toEqual([
      ['reprint', 'printed'],
      ['print', 'printed'],
    ]);
    const missing = await app.invoke('label.reprint', { attemptId: 999_999, by: 'ana' });
    expect(!missing.ok && missing.error.code).toBe('LABEL_JOB_NOT_FOUND');
    await app.invoke('batch.stop', {});
    // The audit entry names the operator (read as an engineer reads the audit log).
    const engineer = createAppService({ ...line.options, role: 'engineer' });
    try {
      const audit = await engineer.invoke('audit.list', {});
      expect(audit.ok && audit.value.find((a) => a.action === 'label-reprint')).toMatchObject({
        actor: 'ana',
        details: { attemptId: job.attemptId, reason: 'smudged' },
      });
    } finally {
      await engineer.dispose();
    }
  });

  it('previews the profile’s label (or a draft) as a PNG that scans, and tests the printer (engineer)', async () => {
    const { app, printer } = await start('engineer');
    const preview = await app.invoke('label.preview', {});
    if (!preview.ok) throw new Error(preview.error.message);
    expect(preview.value).toMatchObject({
      source: 'zpl-renderer',
      content: SAMPLE_LABEL_RECORD.deviceId,
      dpi: 203,
    });
    const template = labelTemplate(printer);
    const z = renderZpl(labelTemplateSchema.parse(template), SAMPLE_LABEL_RECORD);
    if (!z.ok) throw new Error(z.error.message);
    expect(
      decodeSymbol(Buffer.from(preview.value.png, 'base64'), 'datamatrix', symbolRegion(z.value.layout)),
    ).toBe(SAMPLE_LABEL_RECORD.deviceId);
    // A draft as the engineer types it: a QR of the serial this time, or every problem in words.
    const draft = await app.invoke('label.preview', {
      template: { ...template, symbol: { type: 'qr', content: 'serial' } },
    });
    expect(draft.ok && draft.value.content).toBe(SAMPLE_LABEL_RECORD.serial);
    const bad = await app.invoke('label.preview', {
      template: { ...template, size: { widthMm: 2, heightMm: 25 } },
    });
    expect(!bad.ok && bad.error.code).toBe('LABEL_TEMPLATE_INVALID');
    expect(!bad.ok && bad.error.message).toContain('size.widthMm');

    const ready = await app.invoke('label.testPrinter', {});
    expect(ready.ok && ready.value).toMatchObject({ ok: true, target: `127.0.0.1:${printer.port}` });
    printer.set({ headOpen: true });
    const open = await app.invoke('label.testPrinter', {});
    expect(open.ok && open.value).toMatchObject({ ok: false, code: 'LABEL_PRINTER_HEAD_OPEN' });
    expect(printer.jobs()).toEqual([]);
  });
});

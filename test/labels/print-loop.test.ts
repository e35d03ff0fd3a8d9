import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attemptLabelState,
  enqueueLabel,
  labelJob,
  listLabelJobs,
  requestReprint,
} from '../../core/labels/job-store';
import { createLabelLoop, type LabelLoopEvent } from '../../core/labels/print-loop';
import { labelPrinter } from '../../core/labels/printer';
import type { LabelTemplate } from '../../core/labels/template-schema';
import { zplSymbolContents } from '../../core/labels/zpl';
import { openLog } from '../store/helpers';
import { type FakeZplPrinter, startFakeZplPrinter } from './fake-zpl-printer';
import { recordFor, stationWithBatch, template } from './helpers';

const FAST = { baseMs: 10, maxMs: 50 };

/** Symbol contents of everything the fake printer printed, in order. */
const printedKeys = (p: FakeZplPrinter) =>
  p.jobs().flatMap((j) => zplSymbolContents(j.zpl).map((s) => s.content));

describe('label print loop with the fake ZPL printer', () => {
  let printer: FakeZplPrinter;
  let t: LabelTemplate;
  beforeEach(async () => {
    printer = await startFakeZplPrinter();
    t = template({ printer: { kind: 'zpl', host: printer.host, port: printer.port, timeoutMs: 10_000 } });
  });
  afterEach(() => printer.close());

  const queued = (s: ReturnType<typeof stationWithBatch>, deviceId: string) => {
    const attemptId = s.passed(deviceId);
    return enqueueLabel(s.db, { attemptId, batchId: s.batch.id, template: t, record: recordFor(deviceId) })
      .job;
  };

  it.each([
    ['paperOut', 'LABEL_PRINTER_PAPER_OUT'],
    ['headOpen', 'LABEL_PRINTER_HEAD_OPEN'],
    ['paused', 'LABEL_PRINTER_PAUSED'],
    ['ribbonOut', 'LABEL_PRINTER_RIBBON_OUT'],
    ['noAnswer', 'LABEL_PRINTER_NO_ANSWER'],
  ] as const)(
    '%s: the job stays queued with %s, and prints once the printer is fixed',
    async (state, code) => {
      const s = stationWithBatch();
      const job = queued(s, 'e00fce68a1b2c3d4e5f60001');
      const events: LabelLoopEvent[] = [];
      // A silent printer is waited for only briefly here, so the case ends quickly.
      const tt = state === 'noAnswer' ? { ...t, printer: { ...t.printer, timeoutMs: 300 } } : t;
      const loop = createLabelLoop({
        db: s.db,
        printer: labelPrinter(tt),
        backoff: FAST,
        onEvent: (e) => events.push(e),
      });
      printer.set({ [state]: true });
      const first = await loop.printDue();
      expect(first).toEqual({ printed: 0, waiting: 1, failed: 0 });
      expect(labelJob(s.db, job.id)).toMatchObject({ state: 'pending', tries: 1, lastErrorCode: code });
      expect(attemptLabelState(s.db, job.attemptId).state).toBe('pending');
      expect(events[0]).toMatchObject({ type: 'waiting', error: { code } });
      expect(printer.jobs()).toHaveLength(0);
      printer.set({ [state]: false });
      const second = await loop.printDue({ ignoreSchedule: true });
      expect(second.printed).toBe(1);
      expect(labelJob(s.db, job.id)).toMatchObject({ state: 'printed', tries: 2 });
      expect(printedKeys(printer)).toEqual([job.content]);
    },
  );

  it('an unreachable printer holds the queue in order; every label prints once it is back', async () => {
    const s = stationWithBatch();
    const jobs = ['e00fce68a1b2c3d4e5f60001', 'e00fce68a1b2c3d4e5f60002', 'e00fce68a1b2c3d4e5f60003'].map(
      (d) => queued(s, d),
    );
    await printer.unlisten();
    const loop = createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST });
    expect(await loop.printDue()).toEqual({ printed: 0, waiting: 1, failed: 0 });
    // The first job met the dead printer; the others were not tried against it.
    expect(listLabelJobs(s.db).map((j) => [j.state, j.tries, j.lastErrorCode])).toEqual([
      ['pending', 1, 'LABEL_PRINTER_UNREACHABLE'],
      ['pending', 0, null],
      ['pending', 0, null],
    ]);
    await printer.listen();
    expect((await loop.printDue({ ignoreSchedule: true })).printed).toBe(3);
    expect(printedKeys(printer)).toEqual(jobs.map((j) => j.content));
  });

  it('a connection dropped mid-label is retried and the label printed exactly once', async () => {
    const s = stationWithBatch();
    const job = queued(s, 'e00fce68a1b2c3d4e5f60001');
    printer.set({ dropMidJob: 1 });
    const loop = createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST });
    expect((await loop.printDue()).waiting).toBe(1);
    expect(labelJob(s.db, job.id)).toMatchObject({
      state: 'pending',
      lastErrorCode: 'LABEL_PRINTER_DROPPED',
    });
    expect((await loop.printDue({ ignoreSchedule: true })).printed).toBe(1);
    expect(printedKeys(printer)).toEqual([job.content]);
    expect(printer.connections()).toBe(2);
  });

  it('a connection dropped after the printer read the label: sent again (a spare, never a missing label), flagged', async () => {
    const s = stationWithBatch();
    const job = queued(s, 'e00fce68a1b2c3d4e5f60001');
    printer.set({ dropAfterJob: 1 });
    const loop = createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST });
    await loop.printDue();
    expect(labelJob(s.db, job.id)).toMatchObject({ state: 'pending', maybePrinted: true });
    await loop.printDue({ ignoreSchedule: true });
    expect(labelJob(s.db, job.id)).toMatchObject({ state: 'printed', maybePrinted: true });
    expect(printedKeys(printer)).toEqual([job.content, job.content]);
  });

  it('a label that cannot be made fails at once and does not hold the queue', async () => {
    const s = stationWithBatch();
    const bad = queued(s, 'e00fce68a1b2c3d4e5f60001');
    const good = queued(s, 'e00fce68a1b2c3d4e5f60002');
    // The engineer locked a template whose text no longer fits: permanent, not retried.
    const tight = { ...t, size: { ...t.size, widthMm: 18, heightMm: 18 } };
    const loop = createLabelLoop({ db: s.db, printer: labelPrinter(tight), backoff: FAST });
    expect(await loop.printDue()).toEqual({ printed: 0, waiting: 0, failed: 2 });
    expect(labelJob(s.db, bad.id)?.lastErrorCode).toBe('LABEL_TOO_SMALL');
    const fixed = createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST });
    const r = requestReprint(s.db, { attemptId: good.attemptId, actor: 'eng', reason: 'template fixed' });
    expect(r.ok).toBe(true);
    expect((await fixed.printDue()).printed).toBe(1);
    expect(printedKeys(printer)).toEqual([good.content]);
  });

  it('in the background: waits out a printer out of paper, prints when it is reloaded, told after the commit', async () => {
    const s = stationWithBatch();
    printer.set({ paperOut: true });
    const seen: string[] = [];
    const printed = new Promise<void>((resolve) => {
      const loop = createLabelLoop({
        db: s.db,
        printer: labelPrinter(t),
        backoff: FAST,
        idlePollMs: 50,
        onEvent: (e) => {
          if (e.type === 'waiting' && seen.length === 0) {
            seen.push(`waiting ${labelJob(s.db, e.job.id)?.lastErrorCode}`);
            printer.set({ paperOut: false });
          }
          if (e.type === 'printed') {
            seen.push(`printed ${labelJob(s.db, e.job.id)?.state}`);
            void loop.stop().then(resolve);
          }
        },
      });
      loop.start();
      // Queued after the loop started: the enqueue wakes it.
      queued(s, 'e00fce68a1b2c3d4e5f60001');
    });
    await printed;
    expect(seen).toEqual(['waiting LABEL_PRINTER_PAPER_OUT', 'printed printed']);
    expect(printer.jobs()).toHaveLength(1);
  });

  it('a label queued before a restart is printed by the next station process (durable queue)', async () => {
    const s = stationWithBatch();
    const job = queued(s, 'e00fce68a1b2c3d4e5f60001');
    await printer.unlisten();
    await createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST }).printDue();
    s.log.close();
    await printer.listen();
    const { log } = openLog(s.dir);
    try {
      const loop = createLabelLoop({ db: log.db, printer: labelPrinter(t), backoff: FAST });
      expect((await loop.printDue({ ignoreSchedule: true })).printed).toBe(1);
      expect(labelJob(log.db, job.id)?.state).toBe('printed');
      expect(printedKeys(printer)).toEqual([job.content]);
    } finally {
      log.close();
    }
  });

  it('a reprint from the batch view prints a second label and is in the audit log', async () => {
    const s = stationWithBatch();
    const job = queued(s, 'e00fce68a1b2c3d4e5f60001');
    const loop = createLabelLoop({ db: s.db, printer: labelPrinter(t), backoff: FAST });
    await loop.printDue();
    const r = requestReprint(s.db, { attemptId: job.attemptId, actor: 'ana', reason: 'torn' });
    expect(r.ok).toBe(true);
    await loop.printDue();
    expect(printedKeys(printer)).toEqual([job.content, job.content]);
    expect(s.log.audit(s.batch.id).map((a) => a.action)).toContain('label-reprint');
  });
});

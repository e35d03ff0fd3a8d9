import { describe, expect, it } from 'vitest';
import {
  attemptLabelState,
  dueLabelJobs,
  enqueueLabel,
  labelCounts,
  listLabelJobs,
  nextLabelDueAt,
  rearmLabelJobs,
  requestReprint,
  settleLabelJob,
} from '../../core/labels/job-store';
import { recordFor, stationWithBatch, template } from './helpers';

const T = Date.parse('2026-03-14T08:00:00Z');

describe('label job queue (SQLite, migration labels-1)', () => {
  it('queues one print job per PASS attempt, however often it is asked', () => {
    const { db, batch, passed } = stationWithBatch();
    const attemptId = passed();
    const record = recordFor('e00fce68a1b2c3d4e5f60001');
    const first = enqueueLabel(db, { attemptId, batchId: batch.id, template: template(), record }, T);
    const again = enqueueLabel(db, { attemptId, batchId: batch.id, template: template(), record }, T + 5);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    expect(first.job).toMatchObject({
      state: 'pending',
      kind: 'print',
      content: record.serial,
      tries: 0,
      record,
    });
    expect(listLabelJobs(db)).toHaveLength(1);
    expect(attemptLabelState(db, attemptId)).toMatchObject({ state: 'pending', verified: null });
  });

  it('records a label that cannot be made as failed, visibly, instead of leaving it out', () => {
    const { db, log, batch, passed } = stationWithBatch();
    const attemptId = passed();
    const { iccid: _none, ...wifi } = recordFor('e00fce68a1b2c3d4e5f60002');
    const { job } = enqueueLabel(
      db,
      { attemptId, batchId: batch.id, template: template({ symbol: { content: 'iccid' } }), record: wifi },
      T,
    );
    expect(job).toMatchObject({ state: 'failed', lastErrorCode: 'LABEL_FIELD_MISSING', content: '' });
    expect(dueLabelJobs(db, T + 1)).toEqual([]);
    expect(log.events(batch.id).map((e) => e.type)).toContain('label-failed');
  });

  it('commits a PASS and its label job in one group commit (the job joins the transaction)', async () => {
    const { db, log, batch } = stationWithBatch();
    const a = log.startAttempt({
      batchId: batch.id,
      slot: 2,
      portPath: '1-2',
      deviceId: 'e00fce68a1b2c3d4e5f60003',
    });
    await log.grouped(() => {
      log.finishAttempt(a.id, { result: 'pass' });
      enqueueLabel(
        db,
        {
          attemptId: a.id,
          batchId: batch.id,
          template: template(),
          record: recordFor('e00fce68a1b2c3d4e5f60003'),
        },
        T,
      );
    });
    expect(attemptLabelState(db, a.id).state).toBe('pending');
    expect(log.requireAttempt(a.id).result).toBe('pass');
  });

  it('settles tries: waiting keeps the job pending with its error; printed and failed are final', () => {
    const { db, log, batch, passed } = stationWithBatch();
    const ids = [passed(), passed(), passed()].map(
      (attemptId) =>
        enqueueLabel(
          db,
          {
            attemptId,
            batchId: batch.id,
            template: template(),
            record: recordFor(`e00fce68a1b2c3d4e5f6000${attemptId}`),
          },
          T,
        ).job.id,
    );
    const [a = 0, b = 0, c = 0] = ids;
    expect(dueLabelJobs(db, T).map((j) => j.id)).toEqual([a, b, c]);
    const waiting = settleLabelJob(
      db,
      a,
      { state: 'pending', code: 'LABEL_PRINTER_PAPER_OUT', message: 'out', nextTryAt: T + 2000 },
      T,
    );
    expect(waiting).toMatchObject({
      state: 'pending',
      tries: 1,
      lastErrorCode: 'LABEL_PRINTER_PAPER_OUT',
      maybePrinted: false,
    });
    expect(dueLabelJobs(db, T + 1).map((j) => j.id)).toEqual([b, c]);
    expect(nextLabelDueAt(db)).toBe(T);
    settleLabelJob(db, b, { state: 'printed', output: '127.0.0.1:9100' }, T);
    settleLabelJob(db, c, { state: 'failed', code: 'LABEL_TOO_SMALL', message: 'small' }, T);
    expect(labelCounts(db, batch.id)).toEqual({ pending: 1, printed: 1, failed: 1 });
    expect(nextLabelDueAt(db)).toBe(T + 2000);
    expect(rearmLabelJobs(db, T + 10)).toBe(1);
    expect(dueLabelJobs(db, T + 10).map((j) => j.id)).toEqual([a]);
    const events = log.events(batch.id).map((e) => e.type);
    expect(events.filter((t) => t === 'label-printed')).toHaveLength(1);
    expect(events.filter((t) => t === 'label-failed')).toHaveLength(1);
  });

  it('a connection lost after the label left marks the job maybe-printed, and that sticks', () => {
    const { db, batch, passed } = stationWithBatch();
    const attemptId = passed();
    const { job } = enqueueLabel(
      db,
      { attemptId, batchId: batch.id, template: template(), record: recordFor('e00fce68a1b2c3d4e5f60009') },
      T,
    );
    settleLabelJob(
      db,
      job.id,
      { state: 'pending', code: 'LABEL_PRINTER_DROPPED', message: 'x', nextTryAt: T, maybePrinted: true },
      T,
    );
    const later = settleLabelJob(
      db,
      job.id,
      { state: 'pending', code: 'LABEL_PRINTER_UNREACHABLE', message: 'y', nextTryAt: T },
      T,
    );
    expect(later.maybePrinted).toBe(true);
  });

  it('a reprint is a new job, audited with who asked and why; the newest job is what the slot shows', () => {
    const { db, log, batch, passed } = stationWithBatch();
    const attemptId = passed();
    const record = recordFor('e00fce68a1b2c3d4e5f60010');
    const { job } = enqueueLabel(db, { attemptId, batchId: batch.id, template: template(), record }, T);
    settleLabelJob(db, job.id, { state: 'printed', output: 'x' }, T);
    const r = requestReprint(db, { attemptId, actor: 'ana', reason: 'label smudged' }, T + 60_000);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toMatchObject({
      kind: 'reprint',
      reprintOf: job.id,
      requestedBy: 'ana',
      reason: 'label smudged',
      state: 'pending',
      content: record.serial,
    });
    expect(attemptLabelState(db, attemptId)).toMatchObject({ state: 'pending', job: { id: r.value.id } });
    const audit = log.audit(batch.id).filter((e) => e.action === 'label-reprint');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'ana',
      details: {
        attemptId,
        jobId: r.value.id,
        reprintOf: job.id,
        reason: 'label smudged',
        content: record.serial,
      },
    });
    expect(requestReprint(db, { attemptId: 999, actor: 'ana' }).ok).toBe(false);
  });

  it('a reprint after the engineer fixed the template takes the key again', () => {
    const { db, batch, passed } = stationWithBatch();
    const attemptId = passed();
    const { iccid: _none, ...wifi } = recordFor('e00fce68a1b2c3d4e5f60011');
    enqueueLabel(
      db,
      { attemptId, batchId: batch.id, template: template({ symbol: { content: 'iccid' } }), record: wifi },
      T,
    );
    const r = requestReprint(
      db,
      { attemptId, actor: 'eng', template: template({ symbol: { content: 'deviceId' } }) },
      T,
    );
    expect(r.ok && r.value.content).toBe(wifi.deviceId);
  });
});

import { describe, expect, it } from 'vitest';
import { enqueueLabel, settleLabelJob } from '../../../core/labels/job-store';
import { buildLabelRecord } from '../../../core/labels/label-record';
import { enableLineFeed, readLineFeed } from '../../../core/store/line-feed';
import { newBatch, openLog } from '../helpers';

/*
 * labels-2-line-feed: the export's label_state is read from label_jobs, so a label job queued or
 * settled sends its attempt to the line database again; a retry that changes nothing shown does not.
 */
describe('migration labels-2-line-feed', () => {
  it('queues the attempt in the line feed when its label job is queued, printed or failed, not on a retry', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({
      batchId: b.id,
      slot: 1,
      portPath: '1-1',
      deviceId: 'e00fce68aaaaaaaaaaaaaaaa',
    });
    log.finishAttempt(a.id, { result: 'pass' });
    enableLineFeed(log.db);
    const attemptEntries = () =>
      readLineFeed(log.db, 1000).filter((e) => e.kind === 'attempt' && e.rowId === a.id).length;
    const before = attemptEntries();
    const record = buildLabelRecord({
      deviceId: 'e00fce68aaaaaaaaaaaaaaaa',
      productName: 'Widget',
      lot: 'LOT-1',
      station: 'line-1',
      at: new Date(),
    });
    const { job } = enqueueLabel(log.db, {
      attemptId: a.id,
      batchId: b.id,
      template: { symbol: { type: 'datamatrix', content: 'deviceId' } },
      record,
    });
    expect(attemptEntries()).toBe(before + 1);
    settleLabelJob(log.db, job.id, {
      state: 'pending',
      code: 'LABEL_PRINTER_PAPER_OUT',
      message: 'Out of labels.',
      nextTryAt: Date.now() + 1000,
    });
    expect(attemptEntries()).toBe(before + 1);
    settleLabelJob(log.db, job.id, { state: 'printed', output: '127.0.0.1:9100' });
    expect(attemptEntries()).toBe(before + 2);
    log.close();
  });
});

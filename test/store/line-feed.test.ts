import { describe, expect, it } from 'vitest';
import { transaction } from '../../core/store/database';
import { ackLineFeed, enableLineFeed, lineFeedState, readLineFeed } from '../../core/store/line-feed';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import { newBatch, openLog, tempDir } from './helpers';

describe('the local change feed for the line database', () => {
  it('keeps nothing until a line database is configured, then queues the whole log', () => {
    const { log } = openLog(tempDir());
    const b = log.createBatch(newBatch());
    log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    expect(lineFeedState(log.db)).toMatchObject({ enabled: false, behind: 0 });
    // batch, attempt, and createBatch's audit entry
    expect(enableLineFeed(log.db)).toBe(3);
    expect(enableLineFeed(log.db)).toBe(0);
    expect(readLineFeed(log.db, 10).map((e) => e.kind)).toEqual(['batch', 'attempt', 'audit']);
    expect(lineFeedState(log.db)).toMatchObject({ enabled: true, behind: 3, ackedSeq: 0, lastSeq: 3 });
    log.close();
  });

  it('records each committed change in its own transaction, and nothing of a rolled-back one', () => {
    const { log } = openLog(tempDir());
    enableLineFeed(log.db);
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    const before = lineFeedState(log.db).lastSeq;
    expect(() =>
      transaction(log.db, () => {
        log.db.prepare("UPDATE attempts SET step = 'flash' WHERE id = ?").run(a.id);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(lineFeedState(log.db).lastSeq).toBe(before);
    log.beginStep(a.id, 'flash');
    expect(readLineFeed(log.db, 100).at(-1)).toMatchObject({ kind: 'attempt', rowId: a.id });
    log.close();
  });

  it("feeds an outbox entry's state changes (and the device's PASS), not its retries", () => {
    const { log } = openLog(tempDir());
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    log.setIdentity(a.id, { deviceId: 'e00fce680000000000000001', platform: 'boron' });
    log.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' });
    enableLineFeed(log.db);
    ackLineFeed(log.db, lineFeedState(log.db).lastSeq);
    enqueueRegistration(log.db, { productId: b.product, deviceId: 'e00fce680000000000000001' });
    const id = listOutbox(log.db)[0]?.id ?? 0;
    expect(readLineFeed(log.db, 10).map((e) => e.kind)).toEqual(['registration', 'attempt']);
    ackLineFeed(log.db, lineFeedState(log.db).lastSeq);
    settleOutbox(log.db, [
      { id, state: 'pending', code: 'CLOUD_SERVER_ERROR', message: '503', nextAttemptAt: 1 },
    ]);
    const retried = readLineFeed(log.db, 10).length;
    settleOutbox(log.db, [
      { id, state: 'pending', code: 'CLOUD_SERVER_ERROR', message: '503', nextAttemptAt: 2 },
    ]);
    expect(readLineFeed(log.db, 10)).toHaveLength(retried);
    settleOutbox(log.db, [{ id, state: 'done', outcome: 'imported' }]);
    expect(
      readLineFeed(log.db, 10)
        .slice(retried)
        .map((e) => e.kind),
    ).toEqual(['registration', 'attempt']);
    log.close();
  });

  it('keeps its triggers through every migration (a table rebuilt later must put them back)', () => {
    const { log } = openLog(tempDir());
    const names = (
      log.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'line_feed_%'")
        .all() as {
        name: string;
      }[]
    )
      .map((r) => r.name)
      .sort();
    expect(names).toEqual(
      // 'label': a label job's changes re-queue its attempt (labels-2-line-feed).
      ['batch', 'attempt', 'audit', 'registration', 'label']
        .flatMap((k) => [`line_feed_${k}_insert`, `line_feed_${k}_update`])
        .sort(),
    );
    log.close();
  });

  it('acknowledges in order and never backwards', () => {
    const { log } = openLog(tempDir());
    enableLineFeed(log.db);
    log.createBatch(newBatch());
    ackLineFeed(log.db, 2);
    expect(lineFeedState(log.db)).toMatchObject({ ackedSeq: 2, behind: 0 });
    ackLineFeed(log.db, 1);
    expect(lineFeedState(log.db).ackedSeq).toBe(2);
    expect(readLineFeed(log.db, 10)).toEqual([]);
    log.close();
  });
});

import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { databasePath } from '../../core/store/data-dir';
import { StationLog } from '../../core/store/station-log';
import { manualClock, newBatch, openLog, tempDir } from './helpers';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (e instanceof LsFailure) return e.error.code;
    throw e;
  }
  return undefined;
};

describe('StationLog batches', () => {
  it('creates a batch with its audit trail and refuses a duplicate lot', () => {
    const { log } = openLog();
    const b = log.createBatch(
      newBatch({ acceptances: [{ item: 'token', by: 'eng', at: '2026-01-01T00:00:00Z', note: 'offline' }] }),
    );
    expect(b.state).toBe('running');
    expect(b.firmware).toHaveLength(2);
    expect(b.acceptances[0]?.item).toBe('token');
    expect(log.audit(b.id).map((a) => a.action)).toEqual(['batch-start', 'accept']);
    expect(codeOf(() => log.createBatch(newBatch()))).toBe('BATCH_EXISTS');
    expect(log.batches()).toHaveLength(1);
  });

  it('pauses, resumes and closes; a closed batch is read-only', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    expect(log.setBatchState(b.id, 'paused', 'ana').state).toBe('paused');
    expect(log.setBatchState(b.id, 'running', 'ana').state).toBe('running');
    const closed = log.setBatchState(b.id, 'closed', 'ana');
    expect(closed.state).toBe('closed');
    expect(closed.endedAt).not.toBeNull();
    expect(codeOf(() => log.setBatchState(b.id, 'running', 'ana'))).toBe('BATCH_CLOSED');
    expect(codeOf(() => log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' }))).toBe('BATCH_CLOSED');
    expect(log.audit(b.id).map((a) => a.action)).toEqual([
      'batch-start',
      'batch-pause',
      'batch-resume',
      'batch-close',
    ]);
  });

  it('reports an unknown lot by name', () => {
    const { log } = openLog();
    expect(codeOf(() => log.requireBatch('NOPE'))).toBe('BATCH_NOT_FOUND');
  });
});

describe('StationLog attempts', () => {
  it('records steps, identity, try numbers and the outcome', () => {
    const clock = manualClock();
    const { log } = openLog(tempDir(), clock.now);
    const b = log.createBatch(newBatch());
    const a1 = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    log.setIdentity(a1.id, { deviceId: 'e00fce68aaaaaaaaaaaaaaaa', platform: 'boron' });
    log.beginStep(a1.id, 'flash');
    clock.advance(1500);
    log.finishStep(a1.id, 'flash', 1500);
    const failed = log.finishAttempt(a1.id, {
      result: 'fail',
      error: { code: 'USB_DISCONNECTED', message: 'unplugged', remedy: 're-seat' },
    });
    expect(failed.step).toBe('flash');
    expect(failed.durationMs).toBe(1500);
    expect(failed.stepMs.flash).toBe(1500);
    expect(failed.tryNumber).toBe(1);

    const a2 = log.startAttempt({
      batchId: b.id,
      slot: 1,
      portPath: '1-1',
      deviceId: 'e00fce68aaaaaaaaaaaaaaaa',
    });
    expect(a2.tryNumber).toBe(2);
    log.finishStep(a2.id, 'confirm', 10, { moduleVersions: [3100, 6] });
    const passed = log.finishAttempt(a2.id, {
      result: 'pass',
      step: 'register',
      registrationState: 'queued',
    });
    expect(passed.result).toBe('pass');
    expect(passed.moduleVersions).toEqual([3100, 6]);
    expect(passed.registrationState).toBe('queued');
    // A second finish does not rewrite history.
    expect(log.finishAttempt(a2.id, { result: 'fail' }).result).toBe('pass');
    expect(log.hasPassed(b.id, 'e00fce68aaaaaaaaaaaaaaaa')).toBe(true);
    expect(log.passedCount(b.id)).toBe(1);
    expect(log.events(b.id).map((e) => e.type)).toContain('attempt-pass');
  });

  it('records the serial number, ICCID, IMEI and Device OS with the identity, and why a field is missing', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    const before = log.events(b.id).length;
    const rec = log.setIdentity(a.id, {
      deviceId: 'e00fce68aaaaaaaaaaaaaaaa',
      platform: 'boron',
      serialNumber: 'S013LS612ABCDEF',
      imei: '352753090000001',
      deviceOs: '6.2.1',
      missing: [{ field: 'iccid', cause: 'no-sim', code: 'PARTICLE_REQUEST_FAILED', reason: 'No SIM.' }],
    });
    expect(rec).toMatchObject({
      serialNumber: 'S013LS612ABCDEF',
      iccid: null,
      imei: '352753090000001',
      deviceOs: '6.2.1',
    });
    // The reason is committed with the identity, as an event of the attempt.
    const added = log.events(b.id).slice(before);
    expect(added.map((e) => e.type)).toEqual(['identity-incomplete']);
    expect(added[0]?.attemptId).toBe(a.id);
    expect(added[0]?.data).toEqual({
      missing: [{ field: 'iccid', cause: 'no-sim', code: 'PARTICLE_REQUEST_FAILED', reason: 'No SIM.' }],
    });
    // Read later (a device found in DFU mode): fills what it read, keeps the rest.
    const later = log.setIdentityDetails(a.id, { iccid: '89883030000000000017', deviceOs: '6.3.0' });
    expect(later).toMatchObject({
      serialNumber: 'S013LS612ABCDEF',
      iccid: '89883030000000000017',
      deviceOs: '6.3.0',
    });
    // An attempt without any of it reads as nulls, and logs no event.
    const plain = log.startAttempt({ batchId: b.id, slot: 2, portPath: '1-2' });
    const n = log.events(b.id).length;
    expect(
      log.setIdentity(plain.id, { deviceId: 'e00fce68bbbbbbbbbbbbbbbb', platform: 'boron' }),
    ).toMatchObject({
      serialNumber: null,
      iccid: null,
      imei: null,
      deviceOs: null,
    });
    expect(log.events(b.id).length).toBe(n);
  });

  it('marks attempts left running as interrupted when the log is reopened', () => {
    const dir = tempDir();
    const { log } = openLog(dir);
    const b = log.createBatch(newBatch());
    const done = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1', deviceId: 'aa'.repeat(12) });
    log.finishAttempt(done.id, { result: 'pass' });
    const running = log.startAttempt({ batchId: b.id, slot: 2, portPath: '1-2' });
    log.beginStep(running.id, 'flash');
    log.close();

    const reopened = openLog(dir);
    expect(reopened.recovered).toBe(1);
    const r = reopened.log.requireAttempt(running.id);
    expect(r.result).toBe('interrupted');
    expect(r.step).toBe('flash');
    expect(r.errorCode).toBe('INTERRUPTED');
    expect(reopened.log.requireAttempt(done.id).result).toBe('pass');
    expect(openLog(dir).recovered).toBe(0);
  });
});

describe('StationLog write failures', () => {
  it('names a full disk and keeps what was logged', () => {
    const dir = tempDir();
    const { log } = openLog(dir);
    const b = log.createBatch(newBatch());
    const kept = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    // SQLite's own "database or disk is full" path: cap the file at its current size.
    const pages = Number((log.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    log.db.exec(`PRAGMA max_page_count = ${pages}`);
    let code: string | undefined;
    for (let i = 0; i < 500 && !code; i++)
      code = codeOf(() => log.recordEvent(b.id, null, 'filler', { pad: 'x'.repeat(2000) }));
    expect(code).toBe('STORE_DISK_FULL');
    log.close();
    const again = openLog(dir).log;
    expect(again.requireAttempt(kept.id).portPath).toBe('1-1');
    expect(again.requireBatch('LOT-1').lot).toBe('LOT-1');
  });

  it('names a read-only data directory and keeps what was logged', () => {
    const dir = tempDir();
    const { log } = openLog(dir);
    log.createBatch(newBatch());
    log.close();
    // Root ignores file modes, so open the database read-only the way a read-only mount behaves.
    const ro = new StationLog(new DatabaseSync(databasePath(dir), { readOnly: true }));
    const b = ro.requireBatch('LOT-1');
    expect(codeOf(() => ro.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' }))).toBe(
      'STORE_READ_ONLY',
    );
    ro.close();
    expect(openLog(dir).log.batches()).toHaveLength(1);
  });
});

describe('StationLog group commit', () => {
  it('commits concurrent writes together, each resolved only after the commit', async () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const started = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        log.grouped(() => log.startAttempt({ batchId: b.id, slot: i + 1, portPath: `1-${i + 1}` })),
      ),
    );
    expect(started.map((a) => a.slot)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    // Visible to another connection: committed, not just written.
    expect(log.db.isTransaction).toBe(false);
    expect(log.attempts(b.id)).toHaveLength(16);
  });

  it('rolls back only the write that failed', async () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const good = log.grouped(() => log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' }));
    const bad = log.grouped(() => log.createBatch(newBatch()));
    await expect(bad).rejects.toMatchObject({ error: { code: 'BATCH_EXISTS' } });
    expect((await good).slot).toBe(1);
    expect(log.attempts(b.id)).toHaveLength(1);
  });

  it('fails the whole group with the named cause when the disk is full', async () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const pages = Number((log.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    log.db.exec(`PRAGMA max_page_count = ${pages}`);
    const writes = Array.from({ length: 50 }, () =>
      log.grouped(() => log.recordEvent(b.id, null, 'filler', { pad: 'x'.repeat(4000) })),
    );
    const results = await Promise.allSettled(writes);
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as LsFailure] : []));
    expect(reasons.length).toBe(50);
    expect(new Set(reasons.map((r) => r.error.code))).toEqual(new Set(['STORE_DISK_FULL']));
    log.db.exec('PRAGMA max_page_count = 1073741823');
    expect(log.events(b.id).filter((e) => e.type === 'filler')).toHaveLength(0);
  });
});

describe('StationLog label serials', () => {
  it('pairs a label with an attempt and records the event', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    expect(log.setLabelSerial(a.id, 'SN-0042').labelSerial).toBe('SN-0042');
    expect(log.events(b.id).some((e) => e.type === 'label-paired' && e.data.labelSerial === 'SN-0042')).toBe(
      true,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { openLogForReading } from '../../core/store/open-log';
import { acquireStationLock } from '../../core/store/station-lock';
import { newBatch, openLog, tempDir } from './helpers';

/** An attempt left "running" in the log, as a station mid-flash (or a dead one) leaves it. */
const leaveRunning = (dir: string): number => {
  const { log } = openLog(dir);
  const b = log.createBatch(newBatch());
  const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
  log.beginStep(a.id, 'flash');
  log.close();
  return a.id;
};

describe('openLogForReading', () => {
  it('leaves a running station’s attempts alone while it holds the data folder', () => {
    const dir = tempDir();
    const id = leaveRunning(dir);
    const lock = acquireStationLock(dir, { purpose: 'station' });
    if (!lock.ok) throw new Error(lock.error.message);
    const { log, recovered } = openLogForReading(dir);
    expect(recovered).toBe(0);
    expect(log.requireAttempt(id).result).toBe('running');
    log.close();
    lock.value.release();
  });

  it('marks a dead process’s attempts interrupted when no one holds the folder', () => {
    const dir = tempDir();
    const id = leaveRunning(dir);
    const { log, recovered } = openLogForReading(dir);
    expect(recovered).toBe(1);
    expect(log.requireAttempt(id).result).toBe('interrupted');
    log.close();
    // The recovery check let the lock go again.
    const lock = acquireStationLock(dir, { purpose: 'station' });
    expect(lock.ok).toBe(true);
    if (lock.ok) lock.value.release();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewBatch } from '../../core/store/records';
import { StationLog } from '../../core/store/station-log';

export const tempDir = (prefix = 'ls-store-'): string => mkdtempSync(join(tmpdir(), prefix));

/** A controllable clock: tests advance it instead of sleeping. */
export const manualClock = (start = Date.parse('2026-01-01T08:00:00.000Z')) => {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
};

export const newBatch = (over: Partial<NewBatch> = {}): NewBatch => ({
  lot: 'LOT-1',
  product: '12345',
  platform: 'boron',
  profileName: 'widget',
  profileHash: 'ab'.repeat(32),
  mode: 'flash-on-line',
  firmware: [
    { name: 'system-part1.bin', sha256: '11'.repeat(32) },
    { name: 'app.bin', sha256: '22'.repeat(32) },
  ],
  operator: 'ana',
  station: 'line-1',
  targetCount: 10,
  offline: false,
  acceptances: [],
  ...over,
});

export const openLog = (dir = tempDir(), now?: () => Date) =>
  StationLog.open(dir, { recover: true, ...(now ? { now } : {}) });

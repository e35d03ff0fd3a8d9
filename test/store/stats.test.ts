import { describe, expect, it } from 'vitest';
import { batchStats, percentile } from '../../core/store/stats';
import { manualClock, newBatch, openLog, tempDir } from './helpers';

describe('percentile', () => {
  it('uses nearest rank', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 90)).toBe(9);
    expect(percentile(v, 99)).toBe(10);
    expect(percentile([], 50)).toBe(0);
  });
});

describe('batchStats', () => {
  it('counts, yields, rate, Pareto and step percentiles', () => {
    const clock = manualClock();
    const { log } = openLog(tempDir(), clock.now);
    const b = log.createBatch(newBatch());
    const run = (id: string, result: 'pass' | 'fail', code?: string, flashMs = 1000) => {
      const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
      log.setIdentity(a.id, { deviceId: id, platform: 'boron' });
      log.finishStep(a.id, 'flash', flashMs);
      clock.advance(60_000);
      log.finishAttempt(a.id, code ? { result, error: { code, message: code } } : { result });
    };
    run('d1', 'pass', undefined, 1000);
    run('d2', 'fail', 'USB_DISCONNECTED', 2000);
    run('d2', 'pass', undefined, 3000);
    run('d3', 'fail', 'USB_DISCONNECTED');
    run('d3', 'fail', 'WRONG_PLATFORM');
    const s = batchStats(log, 'LOT-1');
    expect(s).toMatchObject({ attempts: 5, passed: 2, failed: 3, devices: 3, devicesPassed: 2 });
    expect(s.yield).toBeCloseTo(2 / 3);
    expect(s.firstPassYield).toBeCloseTo(1 / 3);
    // 2 devices over 5 minutes of batch time.
    expect(s.devicesPerHour).toBeCloseTo(24);
    expect(s.pareto.map((p) => [p.code, p.count])).toEqual([
      ['USB_DISCONNECTED', 2],
      ['WRONG_PLATFORM', 1],
    ]);
    expect(s.pareto[1]?.cumulativePercent).toBeCloseTo(100);
    expect(s.stepMs.flash).toMatchObject({ count: 5, p50: 1000, max: 3000 });
    expect(s.stepMs.register).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../core/supervisor/histogram';
import { LineModel, paretoOf } from '../../core/supervisor/model';
import type { Distinct, Grain, LotPart } from '../../core/supervisor/queries';
import type { StationState } from '../../core/supervisor/types';

/* core/supervisor/model.ts without PostgreSQL: the sums over lots, and what an update carries. */

const T0 = Date.parse('2026-03-02T08:00:00Z');
const MIN = 60_000;

const station = (id: string, name: string): StationState => ({
  stationId: id,
  name,
  hostname: null,
  appVersion: null,
  lastSeenAt: new Date(T0).toISOString(),
  lastSeenAgoS: 0,
  behind: 0,
  forwardedSeq: 0,
  clockSkewMs: null,
  runningLot: null,
  lastLot: null,
  lastBatchState: null,
  operator: null,
  slotsBusy: 0,
});

const grain = (
  lot: string,
  stationId: string,
  operator: string,
  o: {
    attempts: number;
    passed: number;
    failed?: number;
    firstUnits: number;
    firstPassed: number;
    flash?: number[];
  },
): Grain => {
  const hist = new Map<number, number>();
  for (const v of o.flash ?? []) hist.set(bucketOf(v), (hist.get(bucketOf(v)) ?? 0) + 1);
  return {
    lot,
    stationId,
    operator,
    counts: {
      attempts: o.attempts,
      passed: o.passed,
      failed: o.failed ?? 0,
      interrupted: 0,
      skipped: 0,
      running: 0,
    },
    firstUnits: o.firstUnits,
    firstPassed: o.firstPassed,
    pareto: new Map(o.failed ? [['DFU_VERIFY_MISMATCH', o.failed]] : []),
    steps: new Map(o.flash ? [['flash', { hist, max: Math.max(...o.flash) }]] : []),
  };
};

const d = (units: number, unitsPassed: number, fromMin: number, toMin: number): Distinct => ({
  units,
  unitsPassed,
  first: T0 + fromMin * MIN,
  last: T0 + toMin * MIN,
});

const lot = (
  name: string,
  whole: Distinct,
  byStation: [string, Distinct][],
  byOperator: [string, Distinct][],
  grains: Grain[],
): LotPart => ({
  lot: name,
  whole,
  byStation: new Map(byStation),
  byOperator: new Map(byOperator),
  grains: new Map(grains.map((g) => [`${g.stationId}/${g.operator}`, g])),
});

describe('the line model', () => {
  const lots = () =>
    new Map([
      [
        'L1',
        lot(
          'L1',
          d(4, 4, 0, 60),
          [
            ['a', d(3, 2, 0, 30)],
            ['b', d(3, 2, 30, 60)],
          ],
          [
            ['ana', d(3, 2, 0, 30)],
            ['bob', d(3, 2, 30, 60)],
          ],
          [
            grain('L1', 'a', 'ana', {
              attempts: 4,
              passed: 2,
              failed: 2,
              firstUnits: 3,
              firstPassed: 2,
              flash: [9000],
            }),
            grain('L1', 'b', 'bob', {
              attempts: 4,
              passed: 2,
              failed: 1,
              firstUnits: 1,
              firstPassed: 0,
              flash: [9100],
            }),
          ],
        ),
      ],
      [
        'L2',
        lot(
          'L2',
          d(2, 1, 120, 150),
          [['a', d(2, 1, 120, 150)]],
          [['ana', d(2, 1, 120, 150)]],
          [grain('L2', 'a', 'ana', { attempts: 2, passed: 1, failed: 1, firstUnits: 2, firstPassed: 1 })],
        ),
      ],
    ]);

  it('sums units per lot (a device in two lots is two units) and spans per lot, not across the gap between lots', () => {
    const m = new LineModel();
    m.replaceAll(lots(), [station('a', 'A-1'), station('b', 'B-2'), station('c', 'C-3')]);
    const t = m.totals();
    expect(t).toMatchObject({
      attempts: 10,
      passed: 5,
      failed: 4,
      units: 6,
      unitsPassed: 5,
      firstUnits: 6,
      firstPassed: 3,
    });
    expect(t.firstPassYield).toBe(0.5);
    // 5 units passed in 60 + 30 minutes of lot time (the hour between the lots does not count).
    expect(t.devicesPerHour).toBeCloseTo(5 / 1.5, 9);
    expect(t.pareto).toEqual(paretoOf(new Map([['DFU_VERIFY_MISMATCH', 4]])));
    expect(t.stepMs.flash).toMatchObject({ count: 2, max: 9100 });

    const byStation = m.groups('station');
    expect(byStation.map((g) => [g.label, g.units, g.firstUnits, g.firstPassed])).toEqual([
      ['A-1', 5, 5, 3],
      ['B-2', 3, 1, 0],
      // A station that has forwarded no attempt still has its row.
      ['C-3', 0, 0, 0],
    ]);
    expect(m.groups('lot').map((g) => g.key)).toEqual(['L2', 'L1']);
    expect(m.groups('operator').map((g) => [g.key, g.stations])).toEqual([
      ['ana', 1],
      ['bob', 1],
    ]);
  });

  it('carries in an update the whole rows of every group the changed lot touches, before and after', () => {
    const m = new LineModel();
    m.replaceAll(lots(), [station('a', 'A-1'), station('b', 'B-2')]);
    const v = m.version;
    // L1 read again: station b is gone from it, station a has one attempt more.
    const next = new Map([
      [
        'L1',
        lot(
          'L1',
          d(4, 4, 0, 61),
          [['a', d(4, 4, 0, 61)]],
          [['ana', d(4, 4, 0, 61)]],
          [grain('L1', 'a', 'ana', { attempts: 5, passed: 3, failed: 2, firstUnits: 4, firstPassed: 2 })],
        ),
      ],
    ]);
    const u = m.applyChange(['L1'], next, [station('a', 'A-1'), station('b', 'B-2')]);
    expect(u.version).toBeGreaterThan(v);
    expect(u.changed.lot.map((g) => g.key)).toEqual(['L1']);
    expect(u.changed.station.map((g) => [g.key, g.attempts])).toEqual([
      ['a', 7],
      ['b', 0],
    ]);
    expect(u.changed.operator.map((g) => g.key)).toEqual(['ana']);
    expect(u.totals.attempts).toBe(7);
    // A lot read empty is dropped.
    const gone = m.applyChange(['L2'], new Map(), m.stations.slice());
    expect(gone.changed.lot).toEqual([]);
    expect(m.groups('lot').map((g) => g.key)).toEqual(['L1']);
  });
});

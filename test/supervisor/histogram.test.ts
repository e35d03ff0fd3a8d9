import { describe, expect, it } from 'vitest';
import { percentile } from '../../core/store/stats';
import { bucketOf, bucketValue, type Histogram, histogramPercentiles } from '../../core/supervisor/histogram';

const histogramOf = (values: readonly number[]): Histogram => {
  const h: Histogram = new Map();
  for (const v of values) h.set(bucketOf(v), (h.get(bucketOf(v)) ?? 0) + 1);
  return h;
};

describe('step-duration histograms', () => {
  it('are exact below 100 ms and within 1 % of the nearest-rank percentile above', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const scale of [60, 900, 9000, 400_000]) {
      const values = Array.from({ length: 2000 }, () => Math.round(scale * (0.5 + rand())));
      const sorted = [...values].sort((a, b) => a - b);
      const max = sorted[sorted.length - 1] ?? 0;
      const p = histogramPercentiles(histogramOf(values), max);
      expect(p?.count).toBe(values.length);
      expect(p?.max).toBe(max);
      for (const q of [50, 90, 95, 99] as const) {
        const exact = percentile(sorted, q);
        const got = p?.[`p${q}`] ?? 0;
        if (scale < 100) expect(got).toBe(exact);
        else expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.01);
      }
    }
  });

  it('puts every value in the bucket whose value stands for it', () => {
    for (const v of [0, 1, 99, 100, 101, 150, 1000, 9999, 123_456, 10_000_000]) {
      const b = bucketOf(v);
      expect(Math.abs(bucketValue(b) - v) / Math.max(1, v)).toBeLessThanOrEqual(0.01);
    }
    expect(histogramPercentiles(new Map(), 0)).toBeUndefined();
  });
});

import type { Percentiles } from './types';

/*
 * Step durations are kept as histograms, not as lists: a histogram of a lot merges with those of
 * the other lots in microseconds, so the line's, a station's and an operator's percentiles come
 * from the cached lots without reading a million rows again on every change.
 *
 * Buckets: one per millisecond below 100 ms (exact there), then 2 % wide. A bucket is reported
 * by its geometric middle, so a percentile above 100 ms is within 1 % of the exact nearest-rank
 * value. The same formula runs in PostgreSQL (bucketSql) and here (bucketValue).
 */

const EXACT_BELOW = 100;
const RATIO = 1.02;

/** The bucket of a duration column, in SQL (`ms` is an integer expression ≥ 0). */
// In float8: ln() of a numeric (what `ms / 100.0` would be) costs several times more per row.
export const bucketSql = (ms: string): string =>
  `CASE WHEN ${ms} < ${EXACT_BELOW} THEN ${ms} ELSE ${EXACT_BELOW} + floor(ln(${ms}::float8 / ${EXACT_BELOW}) / ${Math.log(RATIO)})::int END`;

/** The bucket of a duration, as bucketSql computes it (for tests and in-memory data). */
export const bucketOf = (ms: number): number =>
  ms < EXACT_BELOW
    ? Math.max(0, Math.floor(ms))
    : EXACT_BELOW + Math.floor(Math.log(ms / EXACT_BELOW) / Math.log(RATIO));

/** The duration a bucket stands for. */
export const bucketValue = (b: number): number =>
  b < EXACT_BELOW ? b : Math.round(EXACT_BELOW * RATIO ** (b - EXACT_BELOW + 0.5));

/** bucket → count */
export type Histogram = Map<number, number>;

export const mergeInto = (into: Histogram, from: Histogram): void => {
  for (const [b, n] of from) into.set(b, (into.get(b) ?? 0) + n);
};

const rankValue = (sorted: readonly [number, number][], total: number, p: number): number => {
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [b, n] of sorted) {
    seen += n;
    if (seen >= rank) return bucketValue(b);
  }
  return bucketValue(sorted[sorted.length - 1]?.[0] ?? 0);
};

/** Nearest-rank percentiles, as core/store/stats.ts computes them from a sorted list. */
export const histogramPercentiles = (h: Histogram, max: number): Percentiles | undefined => {
  const sorted = [...h.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const count = sorted.reduce((s, [, n]) => s + n, 0);
  if (count === 0) return undefined;
  // The middle of the top bucket may lie above the largest value; the max itself is exact.
  const at = (p: number) => Math.min(max, rankValue(sorted, count, p));
  return { count, p50: at(50), p90: at(90), p95: at(95), p99: at(99), max };
};

import { describe, expect, it } from 'vitest';
import { createRateLimiter, PARTICLE_RATE_BUDGET, stationShare } from '../../core/cloud/rate-budget';

/** A clock that moves only when the limiter sleeps: every wait is exact and instant. */
const fakeClock = () => {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) return false;
      t += ms;
      return true;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
};

/** The most requests any window of `windowMs` held. */
const busiestWindow = (stamps: readonly number[], windowMs: number): number => {
  let best = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while ((stamps[i] ?? 0) - (stamps[j] ?? 0) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

describe('rate budget (token bucket)', () => {
  it('lets a burst through, then spaces requests so no window holds more than the budget', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requests: 50, windowMs: 10_000, burst: 5 }, clock);
    const stamps: number[] = [];
    for (let i = 0; i < 400; i++) {
      expect(await limiter.take()).toBe(true);
      stamps.push(clock.now());
    }
    expect(stamps.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(stamps[5]).toBeGreaterThan(0);
    expect(busiestWindow(stamps, 10_000)).toBeLessThanOrEqual(50);
    expect(limiter.stats().taken).toBe(400);
  });

  it("holds Particle's own budget: 10,000 per 5 minutes, however the requests arrive", async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(PARTICLE_RATE_BUDGET, clock);
    const stamps: number[] = [];
    for (let i = 0; i < 25_000; i++) {
      if (i % 1000 === 0) clock.advance(7_000); // idle spells refill the bucket
      await limiter.take();
      stamps.push(clock.now());
    }
    expect(busiestWindow(stamps, 300_000)).toBeLessThanOrEqual(10_000);
  });

  it('a budget of one request per window is kept too', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requests: 1, windowMs: 1000 }, clock);
    const stamps: number[] = [];
    for (let i = 0; i < 5; i++) {
      await limiter.take();
      stamps.push(clock.now());
    }
    expect(stamps).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('pauses for the Retry-After of a 429, whatever tokens are left', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requests: 100, windowMs: 1000, burst: 10 }, clock);
    await limiter.take();
    limiter.pause(30_000);
    await limiter.take();
    expect(clock.now()).toBeGreaterThanOrEqual(30_000);
  });

  it('gives up without taking a token when the caller cancels', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requests: 2, windowMs: 1000, burst: 1 }, clock);
    await limiter.take();
    const ac = new AbortController();
    ac.abort();
    expect(await limiter.take(ac.signal)).toBe(false);
    expect(limiter.stats().taken).toBe(1);
  });

  it("splits a line's budget between its stations", () => {
    expect(stationShare(4)).toEqual({ requests: 2500, windowMs: 300_000, burst: 20 });
    expect(stationShare(1000).requests).toBe(10);
    expect(stationShare(1000).burst).toBe(1);
  });
});

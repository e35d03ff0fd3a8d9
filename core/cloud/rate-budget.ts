import { sleep as defaultSleep } from '../time/sleep';

/*
 * Particle rate-limits its API to 10,000 requests per 5 minutes per public IP address (docs
 * "Cloud API rate limits"). Every station of a line usually leaves through one router, so the
 * line shares that budget: each station gets a slice (`requests`) and spaces its own requests so
 * it never sends more than its slice in any window. A token bucket does that: up to `burst`
 * requests go at once, then one every `windowMs / (requests - burst)` ms; in any window of
 * `windowMs` at most `requests` leave. A 429 anyway (another station, another program on the
 * same IP) pauses the bucket for the Retry-After the cloud named.
 */

export interface RateBudget {
  /** Requests allowed in any window of `windowMs`. */
  readonly requests: number;
  readonly windowMs: number;
  /** Requests that may go back to back before spacing starts. Default min(20, requests / 10). */
  readonly burst?: number;
}

/** Particle's whole budget per public IP. Give each station of a line its share. */
export const PARTICLE_RATE_BUDGET: RateBudget = { requests: 10_000, windowMs: 5 * 60_000, burst: 20 };

/** A line of `stations` sharing one public IP: each station's slice of Particle's budget. */
export const stationShare = (stations: number, budget: RateBudget = PARTICLE_RATE_BUDGET): RateBudget => {
  const n = Math.max(1, Math.floor(stations));
  const requests = Math.max(1, Math.floor(budget.requests / n));
  return {
    requests,
    windowMs: budget.windowMs,
    burst: Math.max(1, Math.min(budget.burst ?? 20, Math.floor(requests / 10))),
  };
};

export interface RateLimiter {
  readonly budget: RateBudget;
  /**
   * Waits for a token and takes it. Resolves false (taking nothing) when `signal` aborts first.
   * Waiters are served in arrival order.
   */
  take(signal?: AbortSignal): Promise<boolean>;
  /** The cloud answered 429: no token before `ms` from now. */
  pause(ms: number): void;
  /** Requests let through, and how long callers waited in total (ms). */
  stats(): { readonly taken: number; readonly waitedMs: number };
}

export interface RateLimiterOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>;
}

export const createRateLimiter = (budget: RateBudget, options: RateLimiterOptions = {}): RateLimiter => {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  const requests = Math.max(1, Math.floor(budget.requests));
  const burst = Math.min(
    Math.max(1, Math.floor(budget.burst ?? Math.min(20, requests / 10))),
    Math.max(1, requests - 1),
  );
  // The refill leaves room for the burst: a full bucket plus a window of refill stays in budget.
  const perMs = (requests === 1 ? 1 : requests - burst) / budget.windowMs;
  let tokens = burst;
  let stamp = now();
  let pausedUntil = 0;
  let taken = 0;
  let waitedMs = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const takeNow = async (signal: AbortSignal | undefined): Promise<boolean> => {
    const started = now();
    for (;;) {
      if (signal?.aborted) return false;
      const t = now();
      tokens = Math.min(burst, tokens + (t - stamp) * perMs);
      stamp = t;
      const pauseLeft = pausedUntil - t;
      if (pauseLeft <= 0 && tokens >= 1) {
        tokens -= 1;
        taken++;
        waitedMs += t - started;
        return true;
      }
      const wait = Math.max(pauseLeft, (1 - tokens) / perMs);
      if (!(await sleep(Math.max(1, Math.ceil(wait)), signal))) return false;
    }
  };

  return {
    budget: { requests, windowMs: budget.windowMs, burst },
    take(signal) {
      const run = queue.then(() => takeNow(signal));
      queue = run.catch(() => undefined);
      return run;
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + Math.max(0, ms));
      tokens = Math.min(tokens, 0);
    },
    stats: () => ({ taken, waitedMs }),
  };
};

/*
 * The mock cloud's rate limit: at most `requests` API requests in any window of `windowMs`, as
 * Particle limits each public IP (10,000 per 5 minutes). A request over the limit is answered 429
 * with Retry-After (seconds, fractions allowed in the mock) for when the oldest request in the
 * window leaves it, and does not count itself, so a client that waits as told gets through.
 */

export interface MockRateLimit {
  readonly requests: number;
  readonly windowMs: number;
}

export class SlidingWindow {
  private stamps: number[] = [];

  constructor(private limit: MockRateLimit | undefined) {}

  set(limit: MockRateLimit | undefined): void {
    this.limit = limit;
    this.stamps = [];
  }

  get current(): MockRateLimit | undefined {
    return this.limit;
  }

  /** Counts the request, or says how long until one more fits. */
  admit(now: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } {
    const limit = this.limit;
    if (!limit) return { ok: true };
    const from = now - limit.windowMs;
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= from) this.stamps.shift();
    if (this.stamps.length < limit.requests) {
      this.stamps.push(now);
      return { ok: true };
    }
    const oldest = this.stamps[0] ?? now;
    return { ok: false, retryAfterMs: Math.max(1, oldest + limit.windowMs - now) };
  }
}

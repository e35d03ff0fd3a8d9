import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import {
  type CloudWait,
  describeGaveUp,
  gaveUp,
  type RetryTransientOptions,
  retryTransient,
} from '../../core/cloud/retry-transient';
import { PRODUCT, TOKEN } from './helpers';

// Counts come from the mock's request log, never from the clock.
const FAST = { baseMs: 20, maxMs: 80 };

describe('retryTransient against the mock cloud', () => {
  let mock: MockCloud;
  beforeAll(async () => {
    mock = await startMockCloud({ products: [{ id: PRODUCT }], tokens: [{ token: TOKEN }] });
  });
  afterAll(() => mock.close());
  beforeEach(() => {
    mock.setFaults('');
    mock.clearRequests();
  });

  const check = (opts: RetryTransientOptions = {}, token = TOKEN, product = String(PRODUCT)) => {
    const client = createCloudClient({ baseUrl: mock.url, token: async () => token, timeoutMs: 2_000 });
    const waits: CloudWait[] = [];
    const result = retryTransient((signal) => client.checkToken(product, signal ? { signal } : {}), {
      backoff: FAST,
      limitMs: 10_000,
      onWait: (w) => waits.push(w),
      ...opts,
    });
    return { result, waits };
  };

  it('waits out three 429s, never sooner than Retry-After, and reports each wait', async () => {
    mock.setFaults('429*3,retryAfter=0.2');
    const { result, waits } = check();
    const r = await result;
    expect(r.ok).toBe(true);
    expect(mock.requests().map((q) => q.status)).toEqual([429, 429, 429, 200]);
    expect(waits.map((w) => [w.code, w.status, w.tries])).toEqual([
      ['CLOUD_RATE_LIMITED', 429, 1],
      ['CLOUD_RATE_LIMITED', 429, 2],
      ['CLOUD_RATE_LIMITED', 429, 3],
    ]);
    for (const w of waits) expect(w.retryInMs).toBeGreaterThanOrEqual(200);
    expect(waits[0]?.message).toMatch(/^waiting for the Particle Cloud \(429, retry in \d+(\.\d)? s\)$/);
  });

  it('waits out a 500, a slow 503 and a dropped connection', async () => {
    mock.setFaults('500*1,slow503*1,drop*1,retryAfter=0.05,slowMs=30');
    const { result, waits } = check();
    expect((await result).ok).toBe(true);
    expect(mock.requests().map((q) => q.fault ?? 'none')).toEqual(['500', 'slow503', 'drop', 'none']);
    expect(waits.map((w) => w.message.replace(/, retry in .*$/, ''))).toEqual([
      'waiting for the Particle Cloud (500',
      'waiting for the Particle Cloud (503',
      'waiting for the Particle Cloud (connection failed',
    ]);
  });

  it('returns 401, 403 and 404 at once, without a retry', async () => {
    const unauthorized = check({}, 'not-the-token');
    expect(await unauthorized.result).toMatchObject({ ok: false, error: { code: 'CLOUD_UNAUTHORIZED' } });
    expect(unauthorized.waits).toEqual([]);
    mock.setFaults('403');
    const forbidden = check();
    expect(await forbidden.result).toMatchObject({ ok: false, error: { code: 'CLOUD_FORBIDDEN' } });
    mock.setFaults('');
    const unknown = check({}, TOKEN, '999');
    expect(await unknown.result).toMatchObject({ ok: false, error: { code: 'CLOUD_NOT_FOUND' } });
    expect(mock.requests()).toHaveLength(3);
    expect(forbidden.waits.length + unknown.waits.length).toBe(0);
  });

  it('gives up at the bound on a cloud that never recovers, and says how long it tried', async () => {
    mock.setFaults('503,retryAfter=0.05');
    const { result, waits } = check({ limitMs: 600 });
    const r = await result;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CLOUD_SERVER_ERROR');
    const g = gaveUp(r.error);
    expect(g).toMatchObject({ limitMs: 600 });
    // Every request but the last was followed by a reported wait.
    expect(mock.requests().length).toBe(g?.tries);
    expect(waits.length).toBe((g?.tries ?? 0) - 1);
    expect(g?.tries).toBeGreaterThan(1);
    expect(describeGaveUp(g ?? { tries: 0, waitedMs: 0, limitMs: 0 })).toMatch(
      /^The station kept trying for [\d.]+ s \(\d+ tries, limit 0\.6 s\)\.$/,
    );
  });

  it('cuts a call still out at the bound short (a cloud that never answers)', async () => {
    mock.setFaults('timeout');
    const { result } = check({ limitMs: 300 });
    const r = await result;
    expect(r).toMatchObject({ ok: false, error: { code: 'CLOUD_TIMEOUT', kind: 'backoff' } });
    expect(!r.ok && gaveUp(r.error)?.tries).toBe(1);
    expect(mock.requests()).toHaveLength(1);
  });

  it('gives up at once when the cloud asks for a wait longer than the bound', async () => {
    mock.setFaults('429,retryAfter=5');
    const { result, waits } = check({ limitMs: 1_000 });
    const r = await result;
    expect(!r.ok && r.error.code).toBe('CLOUD_RATE_LIMITED');
    expect(!r.ok && gaveUp(r.error)?.tries).toBe(1);
    expect(waits).toEqual([]);
    expect(mock.requests()).toHaveLength(1);
  });

  it('stops when the caller cancels during a wait', async () => {
    mock.setFaults('500,retryAfter=10');
    const controller = new AbortController();
    const { result } = check({
      limitMs: 60_000,
      signal: controller.signal,
      onWait: () => controller.abort(),
    });
    expect(await result).toMatchObject({ ok: false, error: { code: 'CLOUD_ABORTED' } });
    expect(mock.requests()).toHaveLength(1);
  });

  it('calls once, with the answer as it is, when retrying is off (limit 0)', async () => {
    mock.setFaults('429');
    const { result, waits } = check({ limitMs: 0 });
    const r = await result;
    expect(!r.ok && r.error.code).toBe('CLOUD_RATE_LIMITED');
    expect(!r.ok && gaveUp(r.error)).toBeUndefined();
    expect(waits).toEqual([]);
    expect(mock.requests()).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { Deadline } from '../../core/particle/deadline';

describe('Deadline', () => {
  it('tells its own expiry from the caller aborting', async () => {
    const d = new Deadline(5);
    await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve()));
    expect(d.stopped).toBe(true);
    expect(d.timedOut).toBe(true);
    d.dispose();

    const outer = new AbortController();
    const e = new Deadline(60_000, outer.signal);
    outer.abort();
    expect(e.stopped).toBe(true);
    expect(e.timedOut).toBe(false);
    e.dispose();
  });

  it('starts stopped when the caller already aborted', () => {
    const outer = new AbortController();
    outer.abort();
    const d = new Deadline(60_000, outer.signal);
    expect(d.stopped).toBe(true);
    expect(d.timedOut).toBe(false);
    d.dispose();
  });

  it('caps a budget by what is left, never to zero', () => {
    const d = new Deadline(60_000);
    expect(d.cap(1000)).toBe(1000);
    expect(d.cap(600_000)).toBeLessThanOrEqual(60_000);
    d.dispose();
    const done = new Deadline(0);
    expect(done.cap(1000)).toBe(1);
    done.dispose();
  });
});

import { describe, expect, it } from 'vitest';
import { sleep } from '../../core/time/sleep';

describe('sleep', () => {
  it('resolves true when the time passed', async () => {
    await expect(sleep(1)).resolves.toBe(true);
  });

  it('resolves false at once when the signal was already aborted', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBe(false);
  });

  it('resolves false when the signal aborts during the wait', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).resolves.toBe(false);
  });

  it('leaves no abort listener behind after many waits on one signal', async () => {
    // Counted through the signal's own add/remove: a leak shows as a positive balance.
    const ac = new AbortController();
    let registered = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      registered++;
      add(...a);
    }) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      registered--;
      remove(...a);
    }) as typeof remove;
    for (let i = 0; i < 20; i++) await sleep(0, ac.signal);
    expect(registered).toBe(0);
  });
});

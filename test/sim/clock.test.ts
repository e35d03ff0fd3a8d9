import { describe, expect, it } from 'vitest';
import { now, scheduleAfter, sleepUntil } from '../../core/sim/clock';

describe('clock', () => {
  it('sleepUntil never resolves before its deadline', async () => {
    const deadline = now() + 15;
    await sleepUntil(deadline);
    expect(now()).toBeGreaterThanOrEqual(deadline);
  });

  it('a past deadline resolves at once; an aborted signal rejects', async () => {
    await expect(sleepUntil(now() - 1)).resolves.toBeUndefined();
    const c = new AbortController();
    const p = sleepUntil(now() + 60_000, c.signal);
    c.abort();
    await expect(p).rejects.toThrow();
    await expect(sleepUntil(now() + 1, c.signal)).rejects.toThrow();
  });

  it('scheduleAfter runs after the current task even with 0 ms, and can be cancelled', async () => {
    const seen: string[] = [];
    scheduleAfter(0, () => seen.push('scheduled'));
    const cancel = scheduleAfter(0, () => seen.push('cancelled'));
    cancel();
    await Promise.resolve();
    seen.push('same task');
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['same task', 'scheduled']);
  });
});

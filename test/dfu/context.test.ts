import { describe, expect, it } from 'vitest';
import { OpContext, sleep, withContext } from '../../core/dfu/context';
import { LsFailure } from '../../core/errors/result';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof LsFailure ? e.error.code : String(e);
  }
};

describe('OpContext', () => {
  it('turns the caller’s abort into DFU_ABORTED and wakes a sleep at once', async () => {
    const ac = new AbortController();
    const p = withContext('download', { signal: ac.signal }, 60_000, (ctx) => sleep(60_000, ctx));
    ac.abort();
    expect(await codeOf(p)).toBe('DFU_ABORTED');
  });

  it('turns the deadline into DFU_TIMEOUT naming the operation', async () => {
    const p = withContext('erase', { timeoutMs: 20 }, 60_000, (ctx) => sleep(60_000, ctx));
    try {
      await p;
      expect.unreachable();
    } catch (e) {
      expect((e as LsFailure).error).toMatchObject({ code: 'DFU_TIMEOUT', details: { operation: 'erase' } });
    }
  });

  it('sees a passed deadline even when no timer could run', () => {
    const ctx = new OpContext('poll', { timeoutMs: 0 }, 1000);
    expect(() => ctx.throwIfAborted()).toThrow(/did not finish poll/);
    ctx.dispose();
  });

  it('caps each transfer at the time left', () => {
    const ctx = new OpContext('x', { timeoutMs: 1000, transferTimeoutMs: 5000 }, 1000);
    expect(ctx.transferOptions().timeoutMs).toBeLessThanOrEqual(1000);
    expect(ctx.transferOptions().signal).toBe(ctx.signal);
    ctx.dispose();
  });

  it('sleeps not at all for a zero poll timeout', async () => {
    const ctx = new OpContext('x', {}, 1000);
    let resolved = false;
    const p = sleep(0, ctx).then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(true);
    await p;
    ctx.dispose();
  });
});

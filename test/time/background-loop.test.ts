import { describe, expect, it } from 'vitest';
import { createBackgroundLoop } from '../../core/time/background-loop';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('createBackgroundLoop', () => {
  it('runs a pass at start, again at once when woken, and stops after the pass in flight', async () => {
    let passes = 0;
    let wakeFromQueue: (() => void) | undefined;
    const loop = createBackgroundLoop({
      pass: async () => {
        passes++;
      },
      nextWakeIn: () => undefined,
      // Long enough that only a wake can bring the second pass.
      idlePollMs: 60_000,
      errorPauseMs: 10,
      onError: () => undefined,
      subscribe: (wake) => {
        wakeFromQueue = wake;
        return () => {
          wakeFromQueue = undefined;
        };
      },
    });
    loop.start();
    while (passes < 1) await tick();
    wakeFromQueue?.();
    while (passes < 2) await tick();
    expect(loop.running).toBe(true);
    await loop.stop();
    expect(loop.running).toBe(false);
    expect(wakeFromQueue).toBeUndefined();
  });

  it('reports a pass that throws and keeps going', async () => {
    const errors: string[] = [];
    let passes = 0;
    const loop = createBackgroundLoop({
      pass: async () => {
        passes++;
        if (passes === 1) throw new Error('database or disk is full');
      },
      nextWakeIn: () => 0,
      idlePollMs: 60_000,
      errorPauseMs: 1,
      onError: (m) => errors.push(m),
    });
    loop.start();
    while (passes < 2) await tick();
    await loop.stop();
    expect(errors).toEqual(['database or disk is full']);
  });
});

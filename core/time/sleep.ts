/**
 * Waits `ms`, or less when `signal` aborts first. Resolves `true` when the time passed and `false`
 * when it was cut short; it never rejects, so a caller decides what an abort means (give up
 * quietly, or fail with ABORTED). The abort listener is removed either way: polling loops call
 * this many times on one long-lived signal, and listeners left behind would pile up on it.
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => finish(true), Math.max(0, ms));
    function onAbort(): void {
      finish(false);
    }
    function finish(slept: boolean): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

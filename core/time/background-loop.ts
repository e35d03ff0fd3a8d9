import { sleep } from './sleep';

/*
 * A background worker's loop, shared by the registration outbox's drain and the label printer's
 * queue: run a pass, then sleep until the next item is due (or at most `idlePollMs`), waking at
 * once when new work is queued. A pass that throws (a store error: disk full, read-only) is
 * reported and tried again after a pause rather than ending the loop.
 */

export interface BackgroundLoopOptions {
  /** One pass over what is due now. */
  readonly pass: (signal: AbortSignal) => Promise<unknown>;
  /** Milliseconds until something is due, or undefined when nothing waits. */
  readonly nextWakeIn: () => number | undefined;
  readonly idlePollMs: number;
  /** Pause after a pass that threw. */
  readonly errorPauseMs: number;
  readonly onError: (message: string) => void;
  /** Subscribes `wake` to new work (an enqueue in the same process); returns the unsubscribe. */
  readonly subscribe?: ((wake: () => void) => () => void) | undefined;
}

export interface BackgroundLoop {
  readonly running: boolean;
  start(): void;
  /** Stops after the pass in flight; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** New work: run a pass now instead of finishing the nap. */
  wake(): void;
}

export const createBackgroundLoop = (o: BackgroundLoopOptions): BackgroundLoop => {
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  const runLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      woken = false;
      try {
        await o.pass(signal);
      } catch (e) {
        o.onError(e instanceof Error ? e.message : String(e));
        await sleep(o.errorPauseMs, signal);
        continue;
      }
      // Work queued during the pass is picked up at once, not after the nap.
      if (signal.aborted || woken) continue;
      const wait = Math.min(o.nextWakeIn() ?? o.idlePollMs, o.idlePollMs);
      const nap = new AbortController();
      wakeUp = () => nap.abort();
      const onStop = () => nap.abort();
      signal.addEventListener('abort', onStop, { once: true });
      await sleep(wait, nap.signal);
      signal.removeEventListener('abort', onStop);
      wakeUp = undefined;
    }
  };

  return {
    get running() {
      return loop !== undefined;
    },
    start() {
      if (loop) return;
      controller = new AbortController();
      unsubscribe = o.subscribe?.(wake);
      loop = runLoop(controller.signal);
    },
    async stop() {
      controller?.abort();
      unsubscribe?.();
      await loop;
      loop = undefined;
      controller = undefined;
    },
    wake,
  };
};

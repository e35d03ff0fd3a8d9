/**
 * Deadline-based waiting for the simulator. Each modelled delay is turned into an absolute deadline
 * on `performance.now()` and waited for; chained `setTimeout`s would each add their own lateness
 * (≈1 ms of timer slack per call), and with thousands of control transfers per flash that drift
 * would be charged to the host under test. Waits honour an AbortSignal.
 */

/** Timers are coarse (≥1 ms, often later under load); the last stretch is finished with setImmediate. */
const SPIN_MS = 1.5;

export const now = (): number => performance.now();

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException('Aborted', 'AbortError');

/**
 * Resolves at (or just after) `deadline` (a `performance.now()` timestamp). Returns at once when
 * the deadline has passed. Rejects with the signal's reason when aborted.
 */
export const sleepUntil = (deadline: number, signal?: AbortSignal): Promise<void> => {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (deadline - now() <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let immediate: ReturnType<typeof setImmediate> | undefined;
    const onAbort = (): void => {
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      reject(abortReason(signal as AbortSignal));
    };
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const step = (): void => {
      timer = undefined;
      immediate = undefined;
      const left = deadline - now();
      if (left <= 0) {
        finish();
        return;
      }
      if (left > SPIN_MS) timer = setTimeout(step, left - SPIN_MS);
      else immediate = setImmediate(step);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    step();
  });
};

/** Waits `ms` from now. */
export const sleepFor = (ms: number, signal?: AbortSignal): Promise<void> => sleepUntil(now() + ms, signal);

/**
 * Runs `fn` once `ms` have elapsed, against a deadline. Returns a cancel function. Used for events
 * the device starts by itself (re-enumeration after reset), which no caller awaits.
 */
export const scheduleAfter = (ms: number, fn: () => void): (() => void) => {
  const controller = new AbortController();
  const deadline = now() + ms;
  // Never before the current task ends: a reply being sent right now must go out before the event.
  const immediate = setImmediate(() => {
    sleepUntil(deadline, controller.signal).then(
      () => fn(),
      () => undefined,
    );
  });
  return () => {
    clearImmediate(immediate);
    controller.abort();
  };
};

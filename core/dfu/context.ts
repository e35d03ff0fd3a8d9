import { LsFailure } from '../errors/result';
import type { TransferOptions } from '../usb/transport';
import { dfuFailure } from './errors';

export interface OperationOptions {
  /** Overall limit for the operation; the engine gives up with DFU_TIMEOUT when it passes. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Default per-transfer limit: particle-usb uses 5 s, and no single DFU request should take longer. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 5000;

/**
 * One operation's budget: an overall deadline and the caller's AbortSignal merged into one signal
 * that every transfer and every sleep listens to, so nothing the device does can make us hang.
 */
export class OpContext {
  readonly signal: AbortSignal;
  readonly operation: string;
  readonly timeoutMs: number;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly started = performance.now();
  private readonly transferTimeoutMs: number;
  private readonly onUserAbort: () => void;
  private readonly userSignal: AbortSignal | undefined;
  private reason: 'timeout' | 'aborted' | undefined;

  constructor(
    operation: string,
    options: OperationOptions & { transferTimeoutMs?: number },
    defaultTimeoutMs: number,
  ) {
    this.operation = operation;
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    this.transferTimeoutMs = options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
    this.signal = this.controller.signal;
    this.userSignal = options.signal;
    this.onUserAbort = () => this.abort('aborted');
    if (this.userSignal?.aborted) this.abort('aborted');
    else this.userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
    if (Number.isFinite(this.timeoutMs)) {
      this.timer = setTimeout(() => this.abort('timeout'), this.timeoutMs);
      // A pending deadline must not keep a CLI process alive after the work is done.
      this.timer.unref?.();
    }
  }

  private abort(reason: 'timeout' | 'aborted'): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(reason);
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  remainingMs(): number {
    return Math.max(0, this.timeoutMs - this.elapsedMs());
  }

  transferOptions(): TransferOptions {
    return {
      timeoutMs: Math.max(1, Math.min(this.transferTimeoutMs, Math.ceil(this.remainingMs()))),
      signal: this.signal,
    };
  }

  /** The named failure for why this context stopped (the deadline or the caller's signal). */
  abortFailure(): LsFailure {
    if (this.reason === 'timeout')
      return dfuFailure(
        'DFU_TIMEOUT',
        `The device did not finish ${this.operation} within ${this.timeoutMs} ms.`,
        {
          remedy: 'Check the cable; if the device stays busy, power-cycle it and retry.',
          details: { operation: this.operation, timeoutMs: this.timeoutMs },
        },
      );
    return dfuFailure('DFU_ABORTED', `${capitalize(this.operation)} was cancelled.`, {
      details: { operation: this.operation },
    });
  }

  /**
   * Checks the deadline itself too, not only the timer: a device that answers instantly (a
   * simulator at time scale 0) could keep us in promise continuations where no timer ever fires.
   */
  throwIfAborted(): void {
    if (!this.signal.aborted && this.elapsedMs() >= this.timeoutMs) this.abort('timeout');
    if (this.signal.aborted) throw this.abortFailure();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Timers fire late by up to a millisecond or two; the last stretch is finished with setImmediate. */
const SPIN_MS = 1.5;

/**
 * Waits exactly as long as asked (the device's bwPollTimeout) against a deadline, waking early only
 * to give up when the context is aborted. Zero means no wait at all: even setTimeout(0) costs about
 * a millisecond, which over thousands of requests would be pure host overhead.
 */
export const sleep = (ms: number, ctx: OpContext): Promise<void> => {
  if (ms <= 0) return Promise.resolve();
  return waitUntil(performance.now() + ms, ctx);
};

/** Lets timers and I/O run once without waiting: for a device that says "busy, ask again now". */
export const yieldToEventLoop = (ctx: OpContext): Promise<void> => waitUntil(performance.now(), ctx, true);

const waitUntil = (deadline: number, ctx: OpContext, once = false): Promise<void> => {
  if (ctx.signal.aborted) return Promise.reject(ctx.abortFailure());
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let immediate: ReturnType<typeof setImmediate> | undefined;
    let immediateDone = false;
    const onAbort = () => {
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      reject(ctx.abortFailure());
    };
    const step = () => {
      timer = undefined;
      immediate = undefined;
      const left = deadline - performance.now();
      if (left <= 0 && (!once || immediateDone)) {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      } else if (left > SPIN_MS) timer = setTimeout(step, left - SPIN_MS);
      else {
        immediateDone = true;
        immediate = setImmediate(step);
      }
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    step();
  });
};

/** Runs `body` inside a context and always disposes it. */
export const withContext = async <T>(
  operation: string,
  options: OperationOptions & { transferTimeoutMs?: number },
  defaultTimeoutMs: number,
  body: (ctx: OpContext) => Promise<T>,
): Promise<T> => {
  const ctx = new OpContext(operation, options, defaultTimeoutMs);
  try {
    return await body(ctx);
  } catch (e) {
    // Whatever the transport threw while we were being stopped, the reason is the stop.
    if (ctx.signal.aborted && !(e instanceof LsFailure && /^DFU_(TIMEOUT|ABORTED)$/.test(e.error.code)))
      throw ctx.abortFailure();
    throw e;
  } finally {
    ctx.dispose();
  }
};

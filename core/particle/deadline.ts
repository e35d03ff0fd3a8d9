/*
 * One budget for a long operation: an overall deadline and the caller's AbortSignal merged into one
 * signal that every request, wait and sleep below listens to. Afterwards `timedOut` tells whether
 * the deadline or the caller stopped it, so the failure can be named (a timeout is the device's
 * fault, an abort is the operator's choice).
 */
export class Deadline {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly endsAt: number;
  private readonly onAbort = (): void => this.controller.abort('aborted');
  private expired = false;

  constructor(
    timeoutMs: number,
    private readonly outer?: AbortSignal | undefined,
  ) {
    this.timeoutMs = timeoutMs;
    this.endsAt = Date.now() + timeoutMs;
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort('timeout');
    }, timeoutMs);
    // A pending deadline must not keep a CLI process alive after the work is done.
    this.timer.unref?.();
    if (outer?.aborted) this.controller.abort('aborted');
    else outer?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** True once the deadline (not the caller) has stopped the operation. */
  get timedOut(): boolean {
    return this.expired && !this.outer?.aborted;
  }

  get stopped(): boolean {
    return this.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /** `ms`, but never past the deadline (and at least 1 ms, so a zero never means "no limit"). */
  cap(ms: number): number {
    return Math.max(1, Math.min(ms, this.remainingMs()));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
  }
}

/** What a device is doing right now, for progress bars and the station's slot view. */
export type DfuPhase = 'erase' | 'download' | 'verify' | 'leave';

export interface DfuProgress {
  readonly phase: DfuPhase;
  /** The image being worked on (file name, or file + element). */
  readonly label?: string | undefined;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Average over the phase so far; 0 until there is something to average. */
  readonly bytesPerSecond: number;
  /** Time left in this phase at the current speed; undefined until the speed is known. */
  readonly etaMs: number | undefined;
}

export type ProgressListener = (progress: DfuProgress) => void;

/** Tracks one phase of one image and turns byte counts into speed and ETA. */
export class PhaseProgress {
  private readonly started = performance.now();
  private done = 0;
  readonly phase: DfuPhase;
  readonly total: number;
  private readonly label: string | undefined;
  private readonly listener: ProgressListener | undefined;

  constructor(
    phase: DfuPhase,
    total: number,
    label: string | undefined,
    listener: ProgressListener | undefined,
  ) {
    this.phase = phase;
    this.total = total;
    this.label = label;
    this.listener = listener;
    this.emit();
  }

  advance(bytes: number): void {
    this.done = Math.min(this.total, this.done + bytes);
    this.emit();
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  private emit(): void {
    if (!this.listener) return;
    const seconds = this.elapsedMs() / 1000;
    const bytesPerSecond = seconds > 0 && this.done > 0 ? this.done / seconds : 0;
    const etaMs =
      this.done >= this.total
        ? 0
        : bytesPerSecond > 0
          ? ((this.total - this.done) / bytesPerSecond) * 1000
          : undefined;
    this.listener({
      phase: this.phase,
      label: this.label,
      bytesDone: this.done,
      bytesTotal: this.total,
      bytesPerSecond,
      etaMs,
    });
  }
}

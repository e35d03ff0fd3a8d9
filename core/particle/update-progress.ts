import { type DfuProgress, PhaseProgress } from '../dfu/progress';
import type { ModuleFunctionName } from '../firmware/types';

/*
 * Progress of a normal-mode update in the same shape as DFU's (bytes, speed, ETA), so the station
 * and the app show both the same way. Bytes only move while sending; before and after, the device
 * works on its own (erasing its update area, applying NCP firmware for minutes, rebooting), so those
 * phases carry an expected duration and are re-announced on a heartbeat: a slot that shows
 * "applying, 74 s of about 120 s" is plainly alive, where a frozen bar looks hung.
 */

export type NormalUpdatePhase =
  /** Listening mode, then START: the device erases its update area before it answers. */
  | 'preparing'
  /** DATA requests, in the device's chunk size. */
  | 'sending'
  /** FINISH accepted; the device installs (NCP: minutes) and then resets. */
  | 'applying'
  /** Off the bus until it re-enumerates on the same port with the same ID. */
  | 'rebooting'
  /** GET_MODULE_INFO: the module at its new version, valid, with its hash. */
  | 'verifying';

export interface NormalUpdateProgress extends Omit<DfuProgress, 'phase'> {
  readonly phase: NormalUpdatePhase;
  /** 1 for the first try; a retry from START counts up. */
  readonly attempt: number;
  readonly phaseElapsedMs: number;
  /** How long this phase usually takes on this kind of module: a hint for the UI, never a limit. */
  readonly expectedMs: number | undefined;
}

export type NormalUpdateListener = (progress: NormalUpdateProgress) => void;

/** Bytes per second a normal-mode transfer typically reaches, for the hint before there is a speed. */
const TYPICAL_SEND_RATE = 16 * 1024;

/**
 * Rough durations per phase. NCP firmware is flashed into the radio module before the device resets
 * (Device OS firmware_update.cpp; particle-cli allows 4 minutes for it); system parts are copied
 * from the update area by the bootloader during the reboot.
 */
export const expectedPhaseMs = (
  fn: ModuleFunctionName | number,
  phase: NormalUpdatePhase,
  bytes = 0,
): number => {
  switch (phase) {
    case 'preparing':
      return 5_000;
    case 'sending':
      return Math.ceil((bytes / TYPICAL_SEND_RATE) * 1000);
    case 'applying':
      return fn === 'ncp' ? 120_000 : 3_000;
    case 'rebooting':
      return fn === 'system' || fn === 'mono' || fn === 'radio'
        ? 20_000
        : fn === 'bootloader'
          ? 10_000
          : 8_000;
    case 'verifying':
      return 1_000;
  }
};

type TimedPhase = Exclude<NormalUpdatePhase, 'sending'>;

/** Emits one update's progress events; a listener that throws never breaks the update. */
export class UpdateProgress {
  attempt = 1;
  private current: NormalUpdatePhase | undefined;
  private phaseStarted = 0;
  private sendRate = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly listener: NormalUpdateListener | undefined,
    private readonly fn: ModuleFunctionName | number,
    private readonly total: number,
    private readonly label: string | undefined,
    private readonly heartbeatMs = 1000,
  ) {}

  /** Starts a phase without byte movement; re-announced every `heartbeatMs` until the next phase. */
  phase(phase: TimedPhase): void {
    this.stopHeartbeat();
    this.current = phase;
    this.phaseStarted = performance.now();
    this.emitTimed();
    if (this.listener && this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.emitTimed(), this.heartbeatMs);
      this.heartbeat.unref?.();
    }
  }

  /** Starts the sending phase; call the returned function with each chunk's size once it is accepted. */
  sending(): (bytes: number) => void {
    this.stopHeartbeat();
    this.current = 'sending';
    this.phaseStarted = performance.now();
    const expectedMs = expectedPhaseMs(this.fn, 'sending', this.total);
    const bytes = new PhaseProgress('download', this.total, this.label, (p) => {
      this.sendRate = p.bytesPerSecond;
      const elapsed = performance.now() - this.phaseStarted;
      this.emit({
        ...p,
        phase: 'sending',
        attempt: this.attempt,
        phaseElapsedMs: elapsed,
        expectedMs: p.etaMs !== undefined ? elapsed + p.etaMs : expectedMs,
      });
    });
    return (n) => bytes.advance(n);
  }

  stop(): void {
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private emitTimed(): void {
    const phase = this.current;
    if (!phase || phase === 'sending') return;
    const elapsed = performance.now() - this.phaseStarted;
    const expectedMs = expectedPhaseMs(this.fn, phase, this.total);
    this.emit({
      phase,
      label: this.label,
      bytesDone: phase === 'preparing' ? 0 : this.total,
      bytesTotal: this.total,
      bytesPerSecond: phase === 'preparing' ? 0 : this.sendRate,
      etaMs: elapsed < expectedMs ? expectedMs - elapsed : undefined,
      attempt: this.attempt,
      phaseElapsedMs: elapsed,
      expectedMs,
    });
  }

  private emit(p: NormalUpdateProgress): void {
    if (!this.listener) return;
    try {
      this.listener(p);
    } catch {
      // A progress display is not worth a half-written module; heartbeats run from timers, where
      // a throw would be an uncaught exception.
    }
  }
}

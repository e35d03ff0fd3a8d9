/*
 * What installing a firmware set on one device produces, shared by the station's log (one row per
 * attempt), the station pipeline and `linestation flash`.
 */

/** What happened to one module of the set on one device (the export's `module_steps`). */
export interface ModuleStep {
  /** File name (or module label) as the profile lists it. */
  readonly name: string;
  readonly path: 'normal' | 'dfu';
  /**
   * `written`: sent and verified (readback for DFU, MODULE_INFO after the reset for normal mode);
   * `current`: the device already ran this exact module, nothing was written, and it was still
   * verified; `skipped`: an asset the device already holds.
   */
  readonly outcome: 'written' | 'current' | 'skipped';
  readonly ms: number;
}

/** The setup-done step's outcome: set (and read back), or skipped with why. */
export type SetupDoneState = 'set' | `skipped: ${string}`;

/** The parts of installing a set, each timed and bounded by whoever runs it. */
export type InstallPhase =
  | 'service-mode'
  | 'normal-update'
  | 'ensure-dfu'
  | 'flash'
  | 'leave'
  | 'confirm'
  | 'setup-done';

export interface InstallProgress {
  /** For people: `bootloader.bin (normal mode): sending`. */
  readonly phase?: string | undefined;
  readonly module?: string | undefined;
  readonly path?: 'normal' | 'dfu' | undefined;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond?: number | undefined;
  readonly etaMs?: number | undefined;
  /** What this part usually takes (an NCP update takes minutes): a hint, never a limit. */
  readonly expectedMs?: number | undefined;
}

export interface PhaseContext {
  readonly signal: AbortSignal;
  readonly onProgress: (p: InstallProgress) => void;
}

/** What a phase reports for the log. */
export interface PhaseResult {
  readonly moduleSteps?: readonly ModuleStep[] | undefined;
  readonly setupDone?: SetupDoneState | undefined;
  readonly moduleVersions?: readonly number[] | undefined;
  /** The device ID the device reported when it came back (confirm). */
  readonly deviceId?: string | undefined;
}

/**
 * Runs one phase. The station times it, logs it as a step with its own timeout and tells the
 * operator; the CLI prints it. Either way the sequence is the core's (install-set.ts).
 */
export interface InstallRunner {
  phase(name: InstallPhase, fn: (ctx: PhaseContext) => Promise<PhaseResult>): Promise<PhaseResult>;
}

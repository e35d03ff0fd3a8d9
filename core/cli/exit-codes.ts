/** The CLI's exit codes, one meaning each, so scripts on the line can branch on them. */
export const ExitCode = {
  Ok: 0,
  Usage: 1,
  Refused: 2,
  NotReady: 3,
  Failed: 4,
  /** `run` ended by itself (its simulated devices ran out) before K passed; the batch is paused. */
  TargetNotReached: 5,
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

import { type LsError, toLsError } from '../errors/result';
import { ExitCode } from './exit-codes';

/** Where a command writes: injected so tests can capture output without spawning a process. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** Streams whose reader went away (EPIPE); shared so every CliIo on a stream agrees. */
const closedStreams = new WeakSet<NodeJS.WritableStream>();
const guardedStreams = new WeakSet<NodeJS.WritableStream>();

/**
 * A line writer that survives its reader going away (`linestation batches | head`, a pager quit
 * early, a killed `tee`). Unhandled, the EPIPE 'error' event ends the process with a stack trace,
 * and during `run` it would cut a device off mid-flash. Output is dropped from then on and the
 * command finishes its work; any other stream error still surfaces as before.
 */
export const lineWriter = (stream: NodeJS.WritableStream): ((line: string) => void) => {
  if (!guardedStreams.has(stream)) {
    guardedStreams.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      closedStreams.add(stream);
    });
  }
  return (line) => {
    if (!closedStreams.has(stream)) stream.write(`${line}\n`);
  };
};

export const processIo = (): CliIo => ({
  out: lineWriter(process.stdout),
  err: lineWriter(process.stderr),
  isTTY: Boolean(process.stdout.isTTY),
  env: process.env,
  cwd: process.cwd(),
});

export const printJson = (io: CliIo, value: unknown): void => io.out(JSON.stringify(value, null, 2));

/** One clear line on stderr; the stack only with --debug. */
export const reportError = (io: CliIo, e: unknown, debug: boolean): void => {
  const error: LsError = toLsError(e);
  const remedy = error.remedy ? ` ${error.remedy}` : '';
  io.err(`linestation: ${error.code}: ${error.message}${remedy}`);
  if (debug && e instanceof Error && e.stack) io.err(e.stack);
};

/** Thrown by commands to end with a specific exit code after they have printed their own output. */
export class CliExit extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

export const usageExit = (): CliExit => new CliExit(ExitCode.Usage);

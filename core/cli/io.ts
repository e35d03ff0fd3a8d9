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

export const processIo = (): CliIo => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
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

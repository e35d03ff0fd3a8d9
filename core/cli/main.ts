import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index';
import { ExitCode } from './exit-codes';
import { CliExit, type CliIo, processIo, reportError } from './io';

declare const __LINESTATION_VERSION__: string | undefined;
const version = typeof __LINESTATION_VERSION__ === 'string' ? __LINESTATION_VERSION__ : '0.0.0-dev';

export const buildProgram = (io: CliIo): Command => {
  const program = new Command('linestation')
    .description('Manufacturing line station for Particle devices')
    .version(version)
    .option('--debug', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });
  for (const register of COMMANDS) register(program, io);
  return program;
};

/** Runs the CLI and resolves to the exit code; never throws. */
export const runCli = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const program = buildProgram(io);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof CliExit) return e.exitCode;
    if (e instanceof CommanderError) {
      // Help and version print through commander and exit 0; anything else is a usage error.
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return ExitCode.Ok;
      return ExitCode.Usage;
    }
    reportError(io, e, debug);
    return ExitCode.Internal;
  }
};

import { Command } from 'commander';
import { CliExit, type CliIo } from '../../core/cli/io';

/** Runs one registered command in-process with captured output; resolves to its exit code. */
export const runCommand = async (
  reg: (program: Command, io: CliIo) => void,
  argv: string[],
): Promise<{ code: number; out: string[]; err: string[] }> => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    env: {},
    cwd: process.cwd(),
  };
  const program = new Command('linestation').exitOverride();
  reg(program, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out, err };
  } catch (e) {
    if (e instanceof CliExit) return { code: e.exitCode, out, err };
    throw e;
  }
};

import type { CliIo } from '../../core/cli/io';

/** A CliIo that records every line, so tests can read (and search) all CLI output. */
export const captureIo = (env: Record<string, string> = {}) => {
  const out: string[] = [];
  const errs: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => errs.push(l),
    isTTY: false,
    env,
    cwd: process.cwd(),
  };
  return { io, out, errs, all: () => [...out, ...errs].join('\n') };
};

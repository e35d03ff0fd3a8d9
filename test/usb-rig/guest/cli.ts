import { join } from 'node:path';
import type { RigContext } from './context';
import { CheckFailed, type ProcessResult, runProcess } from './harness';

/** Runs the linestation CLI bundle (built on the host) in the guest, as root, with its own data dir. */
export const linestation = async (
  ctx: RigContext,
  args: readonly string[],
  timeoutMs = 120_000,
): Promise<ProcessResult> => {
  if (!ctx.cli)
    throw new CheckFailed(`the CLI bundle did not build on the host: ${ctx.cliError ?? 'unknown reason'}`);
  return runProcess(ctx.node, ['--disable-warning=ExperimentalWarning', ctx.cli, ...args], {
    timeoutMs,
    env: { ...process.env, LINESTATION_DATA: join('/tmp', 'linestation-data') },
  });
};

/** Parses the CLI's JSON output, or fails the check with what it printed instead. */
export const jsonOf = (r: ProcessResult, what: string): unknown => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new CheckFailed(
      `${what} did not print JSON (exit ${r.code}): ${r.stdout.slice(0, 400)} ${r.stderr.slice(0, 400)}`,
    );
  }
};

/** The last line of what a command said, for failure messages. */
export const said = (r: ProcessResult): string =>
  `exit ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ').slice(0, 600)}`;

import { writeFileSync } from 'node:fs';
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
  const r = await runProcess(ctx.node, ['--disable-warning=ExperimentalWarning', ctx.cli, ...args], {
    timeoutMs,
    env: { ...process.env, LINESTATION_DATA: join('/tmp', 'linestation-data') },
  });
  // Every invocation's full output, for whoever reads a failure.
  calls++;
  writeFileSync(
    join(ctx.out, `cli-${String(calls).padStart(2, '0')}-${args[0] ?? ''}.log`),
    `$ linestation ${args.join(' ')}\nexit ${r.code} after ${(r.ms / 1000).toFixed(2)} s\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n`,
  );
  return r;
};
let calls = 0;

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
export const said = (r: ProcessResult): string => {
  // A JSON result names its error; otherwise the last lines of what the command printed.
  const named = /"code":\s*"([A-Z_]+)",\s*"message":\s*"([^"]*)"/.exec(r.stdout);
  const text = named
    ? `${named[1]}: ${named[2]}`
    : (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  const how = r.code === null ? `killed after ${(r.ms / 1000).toFixed(0)} s (timeout)` : `exit ${r.code}`;
  return `${how}: ${text.slice(0, 600)}`;
};

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * A small check runner for inside the guest (vitest would cost many seconds to start under QEMU's
 * software emulation, and the checks are sequential by nature: they share the emulated devices).
 * Each check is an assertion that throws; a check passes only when it returns.
 */

export interface CheckResult {
  readonly name: string;
  readonly title: string;
  readonly outcome: 'pass' | 'fail';
  readonly seconds: number;
  readonly message?: string;
  /** Numbers a check measured (wall times, byte counts), for the report. */
  readonly measured?: Readonly<Record<string, number | string>>;
}

export interface Check<C> {
  readonly name: string;
  readonly title: string;
  readonly timeoutMs: number;
  run(ctx: C, measure: (key: string, value: number | string) => void): Promise<void>;
}

export class CheckFailed extends Error {}

export const expect = (condition: unknown, message: string): void => {
  if (!condition) throw new CheckFailed(message);
};

export const expectEqual = <T>(actual: T, expected: T, what: string): void => {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new CheckFailed(`${what}: expected ${e}, got ${a}`);
};

const uptime = (): string => (performance.now() / 1000).toFixed(2);
export const log = (line: string): void => {
  process.stdout.write(`[guest +${uptime()}s] ${line}\n`);
};

export const runChecks = async <C>(
  checks: readonly Check<C>[],
  ctx: C,
  only: readonly string[],
  outDir: string,
): Promise<CheckResult[]> => {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (only.length > 0 && !only.includes(check.name)) continue;
    const measured: Record<string, number | string> = {};
    const t0 = performance.now();
    let outcome: 'pass' | 'fail' = 'pass';
    let message: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        check.run(ctx, (k, v) => {
          measured[k] = v;
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new CheckFailed(`did not finish within ${check.timeoutMs / 1000} s (hang)`)),
            check.timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      outcome = 'fail';
      message = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
    }
    const seconds = Number(((performance.now() - t0) / 1000).toFixed(2));
    const result: CheckResult = { name: check.name, title: check.title, outcome, seconds, measured };
    results.push(message ? { ...result, message } : result);
    log(
      `${outcome === 'pass' ? 'PASS' : 'FAIL'} ${check.name}: ${check.title} (${seconds} s)${message ? `\n    ${message.replace(/\n/g, '\n    ')}` : ''}`,
    );
    for (const [k, v] of Object.entries(measured)) log(`    ${k} = ${v}`);
  }
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  return results;
};

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a program to completion (killing it after `timeoutMs`), capturing its output. */
export const runProcess = (
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${e.message}`, ms: performance.now() - t0 });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });

/** Fails the check with `what` when `promise` takes longer than `ms` (a step that must not hang). */
export const within = async <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailed(`${what} did not finish within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

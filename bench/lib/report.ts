import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/*
 * What every benchmark prints the same way: the row shape, the machine's load, and the closing
 * table. It lives in bench/lib/ because bench/run.mjs runs every top-level bench/*.ts file.
 */

export type Row = { metric: string; measured: string; goal: string; pass: boolean | undefined };

export const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Timer lateness under CPU contention is charged to the host, so say how busy the machine was. */
export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Prints the aligned `metric measured goal result` table and hands the rows to bench/run.mjs. */
export const printRows = (rows: readonly Row[]): void => {
  const widths = [
    Math.max(6, ...rows.map((r) => r.metric.length)),
    Math.max(8, ...rows.map((r) => r.measured.length)),
    Math.max(4, ...rows.map((r) => r.goal.length)),
  ];
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(widths[0] ?? 0)}  ${b.padStart(widths[1] ?? 0)}  ${c.padEnd(widths[2] ?? 0)}  ${d}`;
  log('');
  log(line('metric', 'measured', 'goal', 'result'));
  log(line('-'.repeat(widths[0] ?? 0), '-'.repeat(widths[1] ?? 0), '-'.repeat(widths[2] ?? 0), '------'));
  for (const r of rows)
    log(line(r.metric, r.measured, r.goal, r.pass === undefined ? '' : r.pass ? 'pass' : 'MISS'));
  log(`(load average at the end: ${load()})`);
  // `npm run bench` (bench/run.mjs) names a file for the rows: its combined table reads them there.
  if (process.env.BENCH_ROWS_FILE) writeFileSync(process.env.BENCH_ROWS_FILE, JSON.stringify(rows));
};

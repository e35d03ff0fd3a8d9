// The README's test command: typecheck, lint, unit/integration tests, then e2e tests in Debian's
// Chromium. Every stage runs even if an earlier one fails (so one run shows everything), and the
// command fails if any stage failed. It ends with one plain "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `run-tests: Node ${process.version} is too old; run "npm ci" first so npm uses the bundled Node 22.\n`,
  );
  process.exit(1);
}
mkdirSync(join(root, 'test-results'), { recursive: true });

const only = process.argv.slice(2);
const stages = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit'] },
  { name: 'lint', cmd: ['npx', 'biome', 'check', '.'] },
  {
    name: 'unit',
    cmd: [
      'npx',
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=test-results/unit-report.json',
    ],
    report: 'test-results/unit-report.json',
  },
  {
    name: 'e2e',
    cmd: ['npm', 'run', '--silent', 'test:e2e'],
    report: 'test-results/e2e-report.json',
    needsChromium: true,
  },
].filter((s) => only.length === 0 || only.includes(s.name));

const counts = { passed: 0, failed: 0, skipped: 0 };
const failedStages = [];

const tally = (stage) => {
  const file = join(root, stage.report);
  if (!existsSync(file)) return;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  if (stage.name === 'unit') {
    counts.passed += report.numPassedTests ?? 0;
    counts.failed += report.numFailedTests ?? 0;
    counts.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } else {
    counts.passed += report.stats?.expected ?? 0;
    counts.failed += (report.stats?.unexpected ?? 0) + (report.stats?.flaky ?? 0);
    counts.skipped += report.stats?.skipped ?? 0;
  }
};

for (const stage of stages) {
  if (stage.needsChromium && !existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
    process.stderr.write(
      '\n== e2e: FAILED: /usr/bin/chromium is missing. Install it with "apt-get install -y chromium" (bash .ci/run does this).\n',
    );
    failedStages.push(stage.name);
    continue;
  }
  process.stdout.write(`\n== ${stage.name}: ${stage.cmd.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync(stage.cmd[0], stage.cmd.slice(1), { cwd: root, stdio: 'inherit', env: process.env });
  const ok = r.status === 0;
  if (stage.report) tally(stage);
  process.stdout.write(
    `== ${stage.name}: ${ok ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (!ok) failedStages.push(stage.name);
}

process.stdout.write(
  `\n${failedStages.length ? `failed stages: ${failedStages.join(', ')}` : 'all stages passed'}\n`,
);
process.stdout.write(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
process.exit(failedStages.length ? 1 : 0);

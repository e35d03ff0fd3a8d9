// Bundles the CLI (core/cli/entry.ts and everything it imports) into dist/cli.mjs.
// Runtime packages stay external: they are installed in node_modules, and native ones (usb,
// serialport) cannot be bundled anyway.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const buildCli = async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await build({
    entryPoints: [join(root, 'core', 'cli', 'entry.ts')],
    outfile: join(root, 'dist', 'cli.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
    define: { __LINESTATION_VERSION__: JSON.stringify(pkg.version) },
  });
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli();

// Bundles the CLI (core/cli/entry.ts and everything it imports) into dist/cli.mjs (or a given file).
// Runtime packages stay external: they are installed in node_modules, and native ones (usb,
// serialport) cannot be bundled anyway.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds to `outfile` (default dist/cli.mjs). The bundle is written to a temporary name and renamed
 * into place, so a launcher starting at the same moment (a second terminal, a test spawning the CLI)
 * never imports a half-written file.
 */
export const buildCli = async (outfile = join(root, 'dist', 'cli.mjs')) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const result = await build({
    entryPoints: [join(root, 'core', 'cli', 'entry.ts')],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
    define: { __LINESTATION_VERSION__: JSON.stringify(pkg.version) },
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no CLI bundle');
  mkdirSync(dirname(outfile), { recursive: true });
  const partial = `${outfile}.${process.pid}.tmp`;
  writeFileSync(partial, file.contents);
  renameSync(partial, outfile);
};

// `node scripts/build-cli.mjs [outfile]`: tests build a private bundle so no one else's rebuild can reach it.
if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli(process.argv[2]);

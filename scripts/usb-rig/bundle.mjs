// Bundles what the guest runs into <rig dir>/build with esbuild: the guest test entry, the
// FunctionFS device server and the linestation CLI. The guest sees the checkout read-only, so
// nothing may be built there at run time. Packages stay external and resolve through a
// node_modules symlink to the checkout's (native addons such as usb and serialport cannot be
// bundled, and the guest runs the very same files over 9p).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(process.argv[2] ?? '/var/tmp/linestation-usb-rig', 'build');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'silent',
  define: { __LINESTATION_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies call require(); ESM output has none unless we provide it.
  banner: {
    js: "import { createRequire as __lsCreateRequire } from 'node:module'; const require = __lsCreateRequire(import.meta.url);",
  },
};
const entries = {
  guest: join(root, 'test', 'usb-rig', 'guest', 'main.ts'),
  'ffs-device': join(root, 'core', 'sim', 'functionfs', 'main.ts'),
  cli: join(root, 'core', 'cli', 'entry.ts'),
  bench: join(root, 'bench', 'usb.ts'),
};
const buildErrors = (e) =>
  (e?.errors ?? []).map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''} ${m.text}`).join('; ') ||
  String(e);

/**
 * The committed tree (HEAD) exported next to the build: while other parts of the checkout are
 * being edited, a half-written file there must not stop the rig, so an entry that does not build
 * from the working tree is built from HEAD instead (and says so).
 */
const headTree = () => {
  const dir = join(out, 'head');
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    const archive = spawnSync(
      'git',
      ['-C', root, 'archive', '--format=tar', 'HEAD', 'core', 'test', 'bench', 'package.json'],
      {
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  }
  return dir;
};

// Each entry on its own, so one broken entry does not take the others down.
let failed = 0;
for (const [name, entry] of Object.entries(entries)) {
  const outfile = join(out, `${name}.mjs`);
  try {
    await build({ ...common, entryPoints: [entry], outfile });
  } catch (e) {
    const working = buildErrors(e);
    try {
      await build({ ...common, entryPoints: [join(headTree(), relative(root, entry))], outfile });
      process.stderr.write(
        `usb-rig bundle: ${name} built from HEAD (the working tree does not build: ${working})\n`,
      );
    } catch (e2) {
      failed++;
      const text = `working tree: ${working}; HEAD: ${buildErrors(e2)}`;
      writeFileSync(join(out, `${name}.error.txt`), text);
      process.stderr.write(`usb-rig bundle: ${name} failed to build: ${text}\n`);
    }
  }
}
process.exitCode = failed && !existsSync(join(out, 'guest.mjs')) ? 1 : 0;

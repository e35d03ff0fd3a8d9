// Bundles what the guest runs into <rig dir>/build with esbuild: the guest test entry, the
// FunctionFS device server and the linestation CLI. The guest sees the checkout read-only, so
// nothing may be built there at run time. Packages stay external and resolve through a
// node_modules symlink to the checkout's (native addons such as usb and serialport cannot be
// bundled, and the guest runs the very same files over 9p).
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
};
// Each entry on its own: while other parts of the CLI are being built, a broken import there must
// not stop the rig (the guest reports the CLI checks as failed, with this reason).
let failed = 0;
for (const [name, entry] of Object.entries(entries)) {
  try {
    await build({ ...common, entryPoints: [entry], outfile: join(out, `${name}.mjs`) });
  } catch (e) {
    failed++;
    const text = (e?.errors ?? [])
      .map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''} ${m.text}`)
      .join('; ');
    writeFileSync(join(out, `${name}.error.txt`), text || String(e));
    process.stderr.write(`usb-rig bundle: ${name} failed to build: ${text || e}\n`);
  }
}
process.exitCode = failed && !existsSync(join(out, 'guest.mjs')) ? 1 : 0;

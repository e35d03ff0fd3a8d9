// Bundles the Electron shell: electron/main.ts -> dist-electron/main.cjs (with core/ inside) and
// electron/preload.ts -> dist-electron/preload.cjs. Both CommonJS, as Electron loads them; a
// sandboxed preload may require only `electron`, so the preload is fully self-contained.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * bwip-js publishes its generic build (core/labels draws symbols with it) as ES modules only, and
 * a CommonJS bundle cannot require() it: that one is carried inside the bundle (pure JS).
 */
const bundleEsmOnly = {
  name: 'bundle-esm-only',
  setup(b) {
    b.onResolve({ filter: /^bwip-js\/generic$/ }, () => ({
      path: join(root, 'node_modules', 'bwip-js', 'dist', 'bwip-js-gen.mjs'),
    }));
  },
};

export const buildElectron = async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const common = {
    bundle: true,
    format: 'cjs',
    target: 'node22',
    sourcemap: 'inline',
    logLevel: 'warning',
    define: { __LINESTATION_VERSION__: JSON.stringify(pkg.version) },
  };
  await build({
    ...common,
    entryPoints: [join(root, 'electron', 'main.ts')],
    outfile: join(root, 'dist-electron', 'main.cjs'),
    platform: 'node',
    // Runtime packages load from node_modules (native ones, usb and serialport, cannot be bundled).
    packages: 'external',
    external: ['electron'],
    plugins: [bundleEsmOnly],
  });
  await build({
    ...common,
    entryPoints: [join(root, 'electron', 'preload.ts')],
    outfile: join(root, 'dist-electron', 'preload.cjs'),
    platform: 'node',
    external: ['electron'],
  });
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildElectron();

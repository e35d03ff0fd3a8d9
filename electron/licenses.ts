import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The About box's list of bundled components and their licences. `npm run dist` writes it to
 * dist-electron/licenses.json from node_modules at build time (so the list is exactly what was
 * packaged); an unpackaged run reads node_modules directly.
 *
 * Run as a script (Node 22 strips the types): node electron/licenses.ts OUT.json
 */
export interface ComponentLicense {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly note?: string;
}

/** The runtime pieces shipped in the app (dev tools are not shipped, so not listed). */
export const RUNTIME_COMPONENTS = [
  'electron',
  'react',
  'react-dom',
  'usb',
  'serialport',
  'zod',
  'commander',
  'pino',
  'uplot',
  '@tanstack/react-virtual',
  'cli-progress',
  // Labels (core/labels): symbols, PNG, PDF, and the ZPL preview (Zebrash as WebAssembly).
  'bwip-js',
  'pngjs',
  'pdf-lib',
  'zpl-renderer-js',
] as const;

const readPackage = (root: string, name: string): { version?: unknown; license?: unknown } | undefined => {
  const file = join(root, 'node_modules', name, 'package.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; license?: unknown };
  } catch {
    return undefined;
  }
};

export const collectLicenses = (root: string): ComponentLicense[] => {
  const out: ComponentLicense[] = [];
  for (const name of RUNTIME_COMPONENTS) {
    const pkg = readPackage(root, name);
    if (!pkg) continue;
    out.push({
      name,
      version: typeof pkg.version === 'string' ? pkg.version : '?',
      license: typeof pkg.license === 'string' ? pkg.license : 'see package',
    });
  }
  // The usb package carries libusb compiled in: its own licence, not the package's MIT.
  if (out.some((c) => c.name === 'usb'))
    out.push({
      name: 'libusb',
      version: '1.0 (bundled in usb)',
      license: 'LGPL-2.1-or-later',
      note: 'compiled into the usb native module; its source is at https://github.com/libusb/libusb',
    });
  return out;
};

/** Prefers the list written at build time; falls back to node_modules (development runs). */
export const loadLicenses = (builtFile: string, root: string): ComponentLicense[] => {
  if (existsSync(builtFile)) {
    try {
      return JSON.parse(readFileSync(builtFile, 'utf8')) as ComponentLicense[];
    } catch {
      // A damaged file: fall through to reading node_modules.
    }
  }
  return collectLicenses(root);
};

export const aboutText = (version: string, licenses: readonly ComponentLicense[]): string =>
  [
    `linestation ${version}`,
    'Factory line station for Particle devices: DFU flashing with readback verify, product registration, durable logs.',
    '',
    'Bundled components:',
    ...licenses.map((l) => `  ${l.name} ${l.version}: ${l.license}${l.note ? ` (${l.note})` : ''}`),
  ].join('\n');

if (process.argv[1]?.endsWith('licenses.ts') && process.argv[2]) {
  writeFileSync(process.argv[2], `${JSON.stringify(collectLicenses(process.cwd()), null, 2)}\n`);
}

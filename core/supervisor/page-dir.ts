import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { err, ok, type Result } from '../errors/result';

/** The page's entry in the renderer build (vite.config.ts builds it beside the station's). */
export const SUPERVISOR_HTML = 'supervisor.html';

/**
 * The checkout (or install) this code runs from: the nearest folder above this module holding
 * linestation's package.json. The sources (core/supervisor/) and the CLI bundle (dist/cli.mjs)
 * both find it this way.
 */
export const packageRoot = (from: string = import.meta.url): string | undefined => {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'linestation') return dir;
      } catch {
        // An unreadable package.json is not ours: keep looking above it.
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
};

/** Where the built page is expected: <root>/dist-renderer (it may not be built yet). */
export const defaultPageDir = (): string | undefined => {
  const root = packageRoot();
  return root ? join(root, 'dist-renderer') : undefined;
};

export const pageBuilt = (dir: string | undefined): boolean =>
  dir !== undefined && existsSync(join(dir, SUPERVISOR_HTML));

/**
 * Builds the renderer (both pages) with the checkout's Vite, as `npm run build:renderer` does, for
 * the demo on a fresh clone. Resolves to the folder it built.
 */
export const buildSupervisorPage = (): Promise<Result<string>> => {
  const root = packageRoot();
  const vite = root ? join(root, 'node_modules', 'vite', 'bin', 'vite.js') : undefined;
  if (!root || !vite || !existsSync(vite))
    return Promise.resolve(
      err('SUPERVISOR_PAGE_MISSING', 'The supervisor page is not built and Vite is not here to build it.', {
        remedy: 'Run "npm ci" and then "npm run build:renderer" in the checkout.',
      }),
    );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vite, 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) =>
      resolve(err('SUPERVISOR_PAGE_BUILD_FAILED', `Could not start Vite: ${e.message}.`)),
    );
    child.on('close', (code) => {
      const dir = join(root, 'dist-renderer');
      if (code === 0 && pageBuilt(dir)) resolve(ok(dir));
      else
        resolve(
          err(
            'SUPERVISOR_PAGE_BUILD_FAILED',
            `Building the page failed: ${output.split('\n').slice(-5).join(' ')}`,
            {
              remedy: 'Run "npm run build:renderer" in the checkout and read its output.',
            },
          ),
        );
    });
  });
};

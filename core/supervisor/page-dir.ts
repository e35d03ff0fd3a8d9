import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

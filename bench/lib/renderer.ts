import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../../core/errors/result';

/*
 * The ui benchmark loads the built renderer (dist-renderer/), which a fresh clone does not have.
 * A benchmark builds what it needs: this rebuilds it when it is missing or older than what it is
 * built from, so a bench never measures a stale UI either.
 */

/** What the renderer bundle is built from, relative to the checkout (the renderer imports core/contract). */
export const RENDERER_INPUTS = [
  'renderer',
  join('core', 'contract'),
  'vite.config.ts',
  'package.json',
  'package-lock.json',
] as const;

export type RendererBuild = (root: string, outDir: string) => Promise<Result<void>>;

export interface EnsureRendererOptions {
  /** The checkout: where the inputs are and vite runs. */
  root: string;
  /** Default: <root>/dist-renderer (what vite.config.ts builds and the e2e tests and Electron load). */
  outDir?: string;
  /** Default: `vite build` (what `npm run build:renderer` runs) into outDir. */
  build?: RendererBuild;
}

export interface RendererStatus {
  outDir: string;
  /** Why it was built, or 'fresh' when the existing build was newer than every input. */
  reason: 'missing' | 'stale' | 'fresh';
}

/** The newest modification time (ms) of a file or of any file below a folder; 0 if absent. */
const newestMtime = (path: string): number => {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
};

/** Whether outDir needs (re)building: no index.html, or some input changed after it was written. */
export const rendererStatus = (root: string, outDir: string): RendererStatus['reason'] => {
  const index = join(outDir, 'index.html');
  if (!existsSync(index)) return 'missing';
  const built = statSync(index).mtimeMs;
  const inputs = Math.max(...RENDERER_INPUTS.map((p) => newestMtime(join(root, p))));
  return inputs > built ? 'stale' : 'fresh';
};

/** `vite build` with the project's config, into outDir; its output is kept for the error only. */
export const viteBuild: RendererBuild = (root, outDir) =>
  new Promise((resolve) => {
    const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
    const child = spawn(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', (e) =>
      resolve(
        err('RENDERER_BUILD_FAILED', `Could not start vite to build the renderer: ${e.message}.`, {
          remedy: 'Run "npm ci" so node_modules has vite, then try again.',
        }),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(ok(undefined));
      resolve(
        err('RENDERER_BUILD_FAILED', `Building the renderer failed (vite exited with ${code ?? signal}).`, {
          remedy: 'Run "npm run build:renderer" to see the error in full and fix it.',
          details: { output: output.trim().split('\n').slice(-20).join('\n') },
        }),
      );
    });
  });

/** Builds the renderer into outDir unless an up-to-date build is already there. */
export const ensureRendererBuilt = async (
  options: EnsureRendererOptions,
): Promise<Result<RendererStatus>> => {
  const outDir = options.outDir ?? join(options.root, 'dist-renderer');
  const reason = rendererStatus(options.root, outDir);
  if (reason === 'fresh') return ok({ outDir, reason });
  const built = await (options.build ?? viteBuild)(options.root, outDir);
  if (!built.ok) return built;
  if (!existsSync(join(outDir, 'index.html')))
    return err('RENDERER_BUILD_FAILED', `The renderer build finished but left no ${outDir}/index.html.`, {
      remedy: 'Run "npm run build:renderer" and check where vite writes its output (vite.config.ts).',
    });
  return ok({ outDir, reason });
};

import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureRendererBuilt, type RendererBuild } from '../../../bench/lib/renderer';
import { ok } from '../../../core/errors/result';
import { tempDir } from '../../store/helpers';

/*
 * bench/lib/renderer.ts: the ui benchmark builds the renderer itself when dist-renderer/ is
 * missing (a fresh clone) or older than its sources. Modification times are set explicitly, so
 * nothing here depends on the clock or on how fast a build runs.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const T0 = new Date('2026-01-01T08:00:00Z');
const T1 = new Date('2026-01-01T09:00:00Z');
const T2 = new Date('2026-01-01T10:00:00Z');

/** A checkout with one renderer source, one contract file and a vite config, all dated `at`. */
const fakeCheckout = (at: Date) => {
  const dir = tempDir('ls-bench-renderer-');
  const files = [join('renderer', 'App.tsx'), join('core', 'contract', 'index.ts'), 'vite.config.ts'];
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), '// source\n');
    utimesSync(join(dir, f), at, at);
  }
  // A folder's own time counts too (a deleted source changes it), so date the folders as well.
  for (const d of ['renderer', join('core', 'contract')]) utimesSync(join(dir, d), at, at);
  return dir;
};

/** A stand-in for vite: writes index.html dated `at` and counts its calls. */
const fakeBuild = (at: Date) => {
  const calls: string[] = [];
  const build: RendererBuild = async (_root, outDir) => {
    calls.push(outDir);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'index.html'), '<!doctype html>');
    utimesSync(join(outDir, 'index.html'), at, at);
    return ok(undefined);
  };
  return { build, calls };
};

describe('ensureRendererBuilt', () => {
  it('builds the renderer when the output folder is missing', async () => {
    const dir = fakeCheckout(T0);
    const { build, calls } = fakeBuild(T1);
    const r = await ensureRendererBuilt({ root: dir, build });
    expect(r).toEqual({ ok: true, value: { outDir: join(dir, 'dist-renderer'), reason: 'missing' } });
    expect(calls).toEqual([join(dir, 'dist-renderer')]);
  });

  it('leaves a build alone that is newer than every source', async () => {
    const dir = fakeCheckout(T0);
    const { build, calls } = fakeBuild(T1);
    await ensureRendererBuilt({ root: dir, build });
    const again = await ensureRendererBuilt({ root: dir, build });
    expect(again.ok && again.value.reason).toBe('fresh');
    expect(calls).toHaveLength(1);
  });

  it('rebuilds when a renderer source or the contract changed after the build', async () => {
    for (const changed of [join('renderer', 'App.tsx'), join('core', 'contract', 'index.ts')]) {
      const dir = fakeCheckout(T0);
      const { build, calls } = fakeBuild(T1);
      await ensureRendererBuilt({ root: dir, build });
      utimesSync(join(dir, changed), T2, T2);
      const again = await ensureRendererBuilt({ root: dir, build });
      expect(again.ok && again.value.reason).toBe('stale');
      expect(calls).toHaveLength(2);
    }
  });

  it('reports a failed build as an error value, and a build that wrote nothing', async () => {
    const dir = fakeCheckout(T0);
    const failing: RendererBuild = async () => ({
      ok: false,
      error: { code: 'RENDERER_BUILD_FAILED', message: 'vite exited with 1.' },
    });
    const r = await ensureRendererBuilt({ root: dir, build: failing });
    expect(r.ok === false && r.error.code).toBe('RENDERER_BUILD_FAILED');
    const silent = await ensureRendererBuilt({ root: dir, build: async () => ok(undefined) });
    expect(silent.ok === false && silent.error.message).toMatch(/left no .*index\.html/);
  });

  it('runs the real vite build of this checkout into an empty folder', async () => {
    const outDir = join(tempDir('ls-bench-renderer-out-'), 'dist-renderer');
    const r = await ensureRendererBuilt({ root, outDir });
    expect(r).toEqual({ ok: true, value: { outDir, reason: 'missing' } });
    expect(readFileSync(join(outDir, 'index.html'), 'utf8')).toMatch(
      /<script type="module"[^>]*src="\.\/assets\//,
    );
    expect(existsSync(join(outDir, 'assets'))).toBe(true);
    const again = await ensureRendererBuilt({ root, outDir });
    expect(again.ok && again.value.reason).toBe('fresh');
  });
});

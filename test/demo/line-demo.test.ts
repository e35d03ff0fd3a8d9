import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LineDemo, startLineDemo } from '../../core/demo/line-demo';
import type { LineState } from '../../core/supervisor/types';
import { pgSkip } from '../line-db/pg-cluster';
import { tempDir } from '../store/helpers';

const page = join(process.cwd(), 'dist-renderer');
let demo: LineDemo | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

const state = async (url: string): Promise<LineState> =>
  (await (await fetch(new URL('/api/state', url))).json()) as LineState;

/* core/demo/line-demo.ts: a temporary line database, three simulated stations and the page. */
describe.skipIf(pgSkip)('the line demo', () => {
  it('starts three stations forwarding to a temporary database and the supervisor page, and removes it all on stop', async () => {
    const lines: string[] = [];
    const started = await startLineDemo({
      dir: tempDir('ls-line-demo-'),
      timeScale: 0.005,
      // The page as built (npm run build:renderer); not built here, where another test may be
      // building it (the CLI's demo --line test builds it when missing).
      pageDir: page,
      buildPage: false,
      say: (l) => lines.push(l),
    });
    if (!started.ok) throw new Error(`${started.error.code}: ${started.error.message}`);
    demo = started.value;
    expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(demo.database).toContain(':***@');
    expect(lines.join('\n')).not.toMatch(/postgres:\/\/[^:]+:[^*]/);
    expect(demo.stations.map((s) => s.name)).toEqual(['S-1', 'S-2', 'S-3']);

    // Every station forwards passes, and the page's state shows them.
    let s = await state(demo.url);
    for (let i = 0; i < 300 && !(s.stations.length === 3 && s.byStation.every((g) => g.passed > 0)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await state(demo.url);
    }
    expect(s.stations.map((x) => [x.name, x.runningLot !== null])).toEqual([
      ['S-1', true],
      ['S-2', true],
      ['S-3', true],
    ]);
    expect(s.byStation.every((g) => g.passed > 0)).toBe(true);
    const dirs = demo.stations.map((x) => x.dataDir);
    expect(dirs.every((d) => existsSync(join(d, 'station-id')))).toBe(true);

    const url = demo.url;
    await demo.stop();
    demo = undefined;
    await expect(fetch(new URL('/api/state', url))).rejects.toThrow();
  }, 120_000);
});

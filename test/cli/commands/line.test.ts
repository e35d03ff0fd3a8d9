import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineStatusReport } from '../../../core/cli/commands/line';
import { runCli } from '../../../core/cli/main';
import { freshDatabase, pgSkip, withPgCluster } from '../../line-db/pg-cluster';
import { captureIo, cliRig, runArgs } from '../../station/cli-harness';
import { tempDir } from '../../store/helpers';

const cluster = withPgCluster();
type Rig = Awaited<ReturnType<typeof cliRig>>;
let rig: Rig;
beforeAll(async () => {
  rig = await cliRig({ slots: 2 });
});
afterAll(async () => {
  await rig?.cloud.close();
});

const status = async (env: Record<string, string>, dataDir: string, json = true) => {
  const c = captureIo(env);
  const code = await runCli(['line', 'status', '--data-dir', dataDir, ...(json ? ['--json'] : [])], c.io);
  return { code, out: c.out.join('\n'), err: c.errs.join('\n') };
};

describe('linestation line status', () => {
  it('says there is no line database, and creates nothing in a data folder that has none', async () => {
    const dataDir = join(tempDir('ls-line-status-'), 'data');
    const r = await status({}, dataDir, false);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Line database: not configured ($LINESTATION_LINE_DB is not set).');
    expect(r.out).toContain('Local: no station database at');
  });
});

describe.skipIf(pgSkip)('linestation line status with a line database', () => {
  it('shows what waits locally and what the line database holds about the station', async () => {
    const url = await freshDatabase(cluster());
    const dataDir = join(tempDir('ls-line-status-'), 'data');
    const run = captureIo({ ...rig.env, LINESTATION_LINE_DB: url });
    expect(await runCli(runArgs({ setup: rig.setup, dataDir }, 'LOT-ST', ['--simulate', '2']), run.io)).toBe(
      0,
    );

    const r = await status({ LINESTATION_LINE_DB: url }, dataDir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as LineStatusReport;
    expect(report).toMatchObject({
      configured: true,
      error: null,
      local: { enabled: true, behind: 0 },
      line: { name: 'line-1', attempts: 2, behind: 0, sameName: [] },
    });
    expect(report.stationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.target).toContain(':***@');
    expect(r.out).not.toContain(cluster().password);

    // Down: the local side still answers; the exit code says the line could not be asked.
    const down = await status({ LINESTATION_LINE_DB: url.replace(/:\d+\//, ':1/') }, dataDir);
    expect(down.code).toBe(4);
    expect(JSON.parse(down.out)).toMatchObject({
      error: { code: 'LINE_DB_UNREACHABLE' },
      local: { behind: 0 },
    });
  });
});

describe.skipIf(pgSkip)('linestation line status and line serve: the line as the supervisor sees it', () => {
  it('prints the supervisor page numbers in line status --json, and serves them until Ctrl-C', async () => {
    const url = await freshDatabase(cluster());
    const { seedLine } = await import('../../supervisor/line-fixture');
    await seedLine(url);
    const r = await status({ LINESTATION_LINE_DB: url }, join(tempDir('ls-line-status-'), 'data'));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as LineStatusReport;
    expect(report.lineView?.totals).toMatchObject({ attempts: 8, units: 4, firstPassYield: 0.5 });
    expect(report.lineView?.byStation.map((s) => s.label)).toEqual(['A-1', 'B-2']);

    // `line serve` reads the URL from the variable --db-env names; a URL there is refused unechoed.
    const refused = captureIo({ PLANT_DB: url });
    expect(await runCli(['line', 'serve', '--db-env', url, '--port', '0'], refused.io)).toBe(1);
    expect(refused.errs.join('\n')).toContain('LINE_DB_BAD_ENV_NAME');
    expect(refused.errs.join('\n')).not.toContain(cluster().password);

    const c = captureIo({ PLANT_DB: url });
    const serving = runCli(['line', 'serve', '--db-env', 'PLANT_DB', '--port', '0', '--json'], c.io);
    for (let i = 0; i < 200 && c.out.length === 0; i++) await new Promise((res) => setTimeout(res, 25));
    const hello = JSON.parse(c.out.join('\n')) as { url: string; host: string; lineDatabase: string };
    expect(hello.host).toBe('127.0.0.1');
    expect(hello.lineDatabase).toContain(':***@');
    const state = (await (await fetch(new URL('/api/state', hello.url))).json()) as {
      totals: { attempts: number; firstPassYield: number };
    };
    expect(state.totals).toMatchObject({ attempts: 8, firstPassYield: 0.5 });
    expect(JSON.stringify(state.totals)).toBe(JSON.stringify(report.lineView?.totals));
    // Ctrl-C: the server closes and the command ends cleanly.
    process.emit('SIGINT');
    expect(await serving).toBe(0);
    await expect(fetch(new URL('/api/state', hello.url))).rejects.toThrow();
  });
});

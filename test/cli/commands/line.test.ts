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

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportToFile } from '../../core/store/export';
import { StationLog } from '../../core/store/station-log';
import { cliRig, runArgs } from '../station/cli-harness';
import { tempDir } from '../store/helpers';
import { query } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';

/*
 * A station with a line database, end to end through `linestation run --simulate`: two stations
 * on one lot (the second learns what the first did), and a line database that is down for a
 * whole run (the station works on, records the skipped checks, and the next run sends it all).
 */

const cluster = withPgCluster();
type Rig = Awaited<ReturnType<typeof cliRig>>;
let rig: Rig;
beforeAll(async () => {
  rig = await cliRig({ slots: 2 });
});
afterAll(async () => {
  await rig?.cloud.close();
});

const run = async (url: string, lot: string, dataDir: string, station: string, extra: string[] = []) => {
  const args = runArgs({ setup: rig.setup, dataDir }, lot, ['--simulate', '4', ...extra]).map((a) =>
    a === 'line-1' ? station : a,
  );
  const { io, out, errs } = (await import('../station/cli-harness')).captureIo({
    ...rig.env,
    LINESTATION_LINE_DB: url,
  });
  const { runCli } = await import('../../core/cli/main');
  const code = await runCli(args, io);
  return { code, out, err: errs };
};

describe.skipIf(pgSkip)('a station with a line database', () => {
  it('forwards a whole run, and a second station on the lot skips what the first passed', async () => {
    const url = await freshDatabase(cluster());
    const a = await run(url, 'LOT-TWO', join(tempDir('ls-a-'), 'data'), 'A-1');
    expect(a.code).toBe(0);
    expect(a.out.join('\n')).toMatch(
      /^Line database: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+ as station A-1/m,
    );
    expect(a.out.join('\n')).toContain('Line database: every record forwarded to');
    expect(a.out.join('\n')).not.toContain(cluster().password);

    const b = await run(url, 'LOT-TWO', join(tempDir('ls-b-'), 'data'), 'B-3');
    const text = b.out.join('\n');
    // Nothing passed at B (all four were A's): the run ends short of its target.
    expect(b.code).toBe(5);
    expect(text.match(/already provisioned at station A-1 at \d\d:\d\d \(not re-flashed\)/g)).toHaveLength(4);
    expect(text).toMatch(/\(line: passed at A-1 at /);

    const rows = await query(
      url,
      `SELECT s.name, a.result, count(*)::int AS n FROM linestation.attempts a JOIN linestation.stations s USING (station_id)
        GROUP BY s.name, a.result ORDER BY s.name, a.result`,
    );
    expect(rows.rows).toEqual([
      { name: 'A-1', result: 'pass', n: 4 },
      { name: 'B-3', result: 'skipped', n: 4 },
    ]);
    const claims = await query(url, 'SELECT count(*)::int AS n FROM linestation.device_claims');
    expect(claims.rows[0]?.n).toBe(0);
  });

  it('runs on while the line database is down, records the skipped checks, and sends everything later', async () => {
    const url = await freshDatabase(cluster());
    const dataDir = join(tempDir('ls-down-'), 'data');
    // A port where nothing listens: the line database is down for the whole run.
    const down = await run(url.replace(/:(\d+)\//, ':1/'), 'LOT-DOWN', dataDir, 'C-2');
    expect(down.code).toBe(0);
    const text = down.out.join('\n');
    expect(text).toMatch(/line database: unreachable since \d\d:\d\d \(LINE_DB_UNREACHABLE\)/);
    expect(text).toMatch(/Line database: \d+ record\(s\) not forwarded yet \(LINE_DB_UNREACHABLE/);
    expect(text).toMatch(/PASS/);

    const { log } = StationLog.open(dataDir);
    const file = join(tempDir('ls-down-export-'), 'lot.json');
    exportToFile(log, 'LOT-DOWN', 'json', file);
    const exported = JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8')) as {
      line_check: string;
      result: string;
    }[];
    expect(exported.filter((r) => r.result === 'pass')).toHaveLength(4);
    for (const r of exported) expect(r.line_check).toMatch(/^skipped: unreachable \(LINE_DB_UNREACHABLE\)$/);
    log.close();

    // Back up: the next run (a new lot) sends the backlog first, then its own.
    const back = await run(url, 'LOT-BACK', dataDir, 'C-2');
    expect(back.code).toBe(0);
    const lots = await query(
      url,
      'SELECT lot, count(*)::int AS n FROM linestation.attempts GROUP BY lot ORDER BY lot',
    );
    expect(lots.rows).toEqual([
      { lot: 'LOT-BACK', n: 4 },
      { lot: 'LOT-DOWN', n: 4 },
    ]);
  });
});

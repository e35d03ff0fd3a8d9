import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../core/cli/main';
import { lineDbTargetFromEnv, redactLineSecrets, redactUrl } from '../../core/line-db/config';
import { classifyLineError } from '../../core/line-db/errors';
import { testLineDb } from '../../core/line-db/test-connection';
import { captureIo, cliRig, runArgs } from '../station/cli-harness';
import { tempDir } from '../store/helpers';
import { query } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';

/*
 * The line database's password must never appear in anything the station writes or shows: CLI
 * output (text and --json), status and error values, the engineer's connection test, the
 * station's database (rows and raw bytes, WAL included), its exports, the line database's own
 * rows, or what the server shows about the session. The URL only ever travels in the environment.
 */

const cluster = withPgCluster();
const SECRET = 'Ln3Secret-pw-x9Z';
// Characters a URL must encode: found neither raw nor encoded.
const ODD = 'p@ss:w/rd%Z9&x';
const forms = [SECRET, ODD, encodeURIComponent(ODD)];

type Rig = Awaited<ReturnType<typeof cliRig>>;
let rig: Rig;
let url = '';
let oddUrl = '';
let adminUrl = '';
beforeAll(async () => {
  rig = await cliRig({ slots: 2 });
  if (pgSkip) return;
  adminUrl = await freshDatabase(cluster());
  url = adminUrl;
  const db = new URL(url).pathname.slice(1);
  await cluster().sql(`CREATE ROLE station_b3 LOGIN PASSWORD '${SECRET}'`, [], 'postgres');
  await cluster().sql(`CREATE ROLE station_odd LOGIN PASSWORD '${ODD}'`, [], 'postgres');
  await cluster().sql(`GRANT CREATE ON DATABASE ${db} TO station_b3`, [], 'postgres');
  url = cluster().urlWith({ user: 'station_b3', password: SECRET, database: db });
  oddUrl = cluster().urlWith({ user: 'station_odd', password: ODD, database: db });
});
afterAll(async () => {
  await rig?.cloud.close();
});

const expectNoSecret = (what: string, text: string) => {
  expect(text.length, `${what} captured nothing`).toBeGreaterThan(0);
  for (const s of forms)
    expect(text.includes(s), `${what} contains the password (${s.length} chars)`).toBe(false);
};

describe('redaction', () => {
  it('shows a URL without its password, and scrubs it from any text', () => {
    expect(redactUrl(`postgres://u:${encodeURIComponent(ODD)}@db.example:5432/line?sslmode=require`)).toBe(
      'postgres://u:***@db.example:5432/line?sslmode=require',
    );
    const u = `postgres://u:${encodeURIComponent(ODD)}@h/line`;
    expectNoSecret('redacted text', redactLineSecrets(`failed for ${u} (password ${ODD})`, u));
    expectNoSecret(
      'an unknown URL',
      redactLineSecrets(`connect postgresql://x:${SECRET}@10.0.0.1/db failed`, undefined),
    );
    const e = classifyLineError(new Error(`getaddrinfo ENOTFOUND in ${u}`), u);
    expectNoSecret('a classified error', JSON.stringify(e));
    const bad = lineDbTargetFromEnv({ LINESTATION_LINE_DB: `mysql://u:${SECRET}@h/db` });
    expectNoSecret('a refused URL', JSON.stringify(bad));
    expect(bad.ok).toBe(false);
  });
});

describe.skipIf(pgSkip)('the line database password never leaks', () => {
  it('in CLI output and the --json summary, connected and refused', async () => {
    const dataDir = join(tempDir('ls-line-leak-'), 'data');
    const texts: string[] = [];
    for (const [lot, env] of [
      ['LOT-OK', url],
      ['LOT-WRONG', url.replace(SECRET, `${SECRET}-wrong`)],
      ['LOT-ODD', oddUrl],
    ] as const)
      for (const json of [false, true]) {
        const c = captureIo({ ...rig.env, LINESTATION_LINE_DB: env });
        const args = runArgs({ setup: rig.setup, dataDir }, `${lot}${json ? '-J' : ''}`, ['--simulate', '2']);
        const code = await runCli(json ? [...args, '--json'] : args, c.io);
        expect(code).toBe(0);
        texts.push(c.out.join('\n'), c.errs.join('\n'));
      }
    const all = texts.join('\n');
    expect(all).toContain('LINE_DB_AUTH_FAILED');
    expect(all).toContain(':***@');
    expectNoSecret('CLI output', all);

    // A URL given where a variable name belongs is refused without being echoed.
    const c = captureIo(rig.env);
    const code = await runCli(
      [...runArgs({ setup: rig.setup, dataDir }, 'LOT-ARGV', ['--simulate', '1']), '--line-db-env', url],
      c.io,
    );
    expect(code).not.toBe(0);
    expectNoSecret('a refused --line-db-env', c.errs.join('\n') + c.out.join('\n'));

    // The station's database, byte by byte (WAL included), its settings and ID files, and an export.
    let bytes = '';
    for (const f of readdirSync(dataDir)) bytes += readFileSync(join(dataDir, f)).toString('latin1');
    expectNoSecret('the data folder', bytes);
    const out = join(tempDir('ls-line-leak-export-'), 'lot.csv');
    const e = captureIo(rig.env);
    expect(await runCli(['export', 'LOT-WRONG', '--data-dir', dataDir, '--out', out], e.io)).toBe(0);
    expect(existsSync(out)).toBe(true);
    expectNoSecret('the export', readFileSync(out, 'utf8'));

    // The line database's rows, and what the server shows about the station's sessions.
    const dump = await query(
      adminUrl,
      `SELECT (SELECT json_agg(s) FROM linestation.stations s)::text
           || (SELECT json_agg(a) FROM linestation.attempts a)::text
           || (SELECT json_agg(l) FROM linestation.audit_log l)::text AS t`,
    );
    expect(String(dump.rows[0]?.t)).toContain('LOT-OK');
    expectNoSecret('the line database', String(dump.rows[0]?.t));
  });

  it("in the engineer's connection test and the status values", async () => {
    for (const u of [url, oddUrl, url.replace(SECRET, 'nope'), oddUrl.replace(/:\d+\//, ':1/')]) {
      const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: u });
      if (!t.ok || !t.value) throw new Error('bad URL');
      const r = await testLineDb(t.value);
      expectNoSecret('testLineDb', JSON.stringify(r));
      expectNoSecret('the target as shown', t.value.display);
    }
  });
});

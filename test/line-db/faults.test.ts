import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LineDbTarget, lineDbTargetFromEnv } from '../../core/line-db/config';
import { createLinePool } from '../../core/line-db/connection';
import type { Forwarder } from '../../core/line-db/forwarder';
import { createLineCheck } from '../../core/line-db/line-check';
import { lineStatusLine } from '../../core/line-db/status';
import { testLineDb } from '../../core/line-db/test-connection';
import type { StationLog } from '../../core/store/station-log';
import { openLog, tempDir } from '../store/helpers';
import { expectExactlyStationRows, query, testForwarder, writeHistory } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';
import { startTcpProxy } from './tcp-proxy';

/*
 * Bad input and faults: each ends in a named error on the engineer's screen (the forwarder's
 * status, testLineDb), the station goes on writing its log, and nothing is lost: once the fault
 * is gone the line database holds exactly the station's rows.
 */

const cluster = withPgCluster();

const target = (url: string): LineDbTarget => {
  const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: url });
  if (!t.ok || !t.value) throw new Error('bad test URL');
  return t.value;
};

const station = (lot = 'LOT-F'): StationLog => {
  const { log } = openLog(tempDir('ls-line-fault-'));
  writeHistory(log, lot);
  return log;
};

/** Waits for the forwarder to fail with `code`, the station writing on meanwhile. */
const failsWith = async (fwd: Forwarder, log: StationLog, code: string) => {
  writeHistory(log, `LOT-BEFORE-${code}`);
  fwd.start();
  await expect.poll(() => fwd.status().error?.code, { timeout: 15_000 }).toBe(code);
  // The station is not slowed or stopped: it goes on logging while the line refuses.
  writeHistory(log, `LOT-${code}`);
  expect(fwd.status().behind).toBeGreaterThan(0);
};

const recovers = async (fwd: Forwarder, log: StationLog, url: string) => {
  fwd.start();
  await expect.poll(() => fwd.status().state, { timeout: 20_000 }).toBe('connected');
  await expect.poll(() => fwd.status().behind, { timeout: 20_000 }).toBe(0);
  await fwd.stop();
  await expectExactlyStationRows(url, log.db, fwd.status().stationId);
};

const temporary: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const undo of temporary.reverse()) await undo();
});

describe.skipIf(pgSkip)('line database faults', () => {
  it('wrong password: LINE_DB_AUTH_FAILED, the password never shown; fixed, everything arrives', async () => {
    const url = await freshDatabase(cluster());
    const log = station();
    const wrong = url.replace(`:${cluster().password}@`, ':Not-The-Password-77@');
    const fwd = testForwarder({ db: log.db, target: target(wrong) });
    await failsWith(fwd, log, 'LINE_DB_AUTH_FAILED');
    const st = fwd.status();
    expect(st.state).toBe('refused');
    expect(lineStatusLine(st)).toMatch(
      /^line database: refused since \d\d:\d\d \(LINE_DB_AUTH_FAILED\), \d+ records behind$/,
    );
    expect(JSON.stringify(st)).not.toContain('Not-The-Password-77');
    expect(st.target).toContain(':***@');
    const tested = await testLineDb(target(wrong));
    expect(tested.ok ? undefined : tested.error.code).toBe('LINE_DB_AUTH_FAILED');
    expect(JSON.stringify(tested)).not.toContain('Not-The-Password-77');
    await fwd.stop();
    // The engineer fixes the URL: the next forwarder sends what waited.
    await recovers(testForwarder({ db: log.db, target: target(url) }), log, url);
    log.close();
  });

  it('not PostgreSQL (a web server on that port): LINE_DB_NOT_POSTGRES', async () => {
    const http = createServer((_req, res) => res.end('hello')).listen(0, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    temporary.push(() => {
      http.close();
    });
    const address = http.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const log = station();
    const fwd = testForwarder({ db: log.db, target: target(`postgres://u:pw@127.0.0.1:${port}/line`) });
    await failsWith(fwd, log, 'LINE_DB_NOT_POSTGRES');
    expect(fwd.status().error?.message).toMatch(/is not PostgreSQL: it answered "HTTP\/1\.1 400/);
    await fwd.stop();
    const tested = await testLineDb(target(`postgres://u:pw@127.0.0.1:${port}/line`));
    expect(tested.ok ? undefined : tested.error.code).toBe('LINE_DB_NOT_POSTGRES');
    log.close();
  });

  it('a read-only database: LINE_DB_READ_ONLY until it is writable again', async () => {
    const url = await freshDatabase(cluster());
    const name = new URL(url).pathname.slice(1);
    await cluster().sql(`ALTER DATABASE ${name} SET default_transaction_read_only = on`, [], 'postgres');
    const log = station();
    const tested = await testLineDb(target(url));
    expect(tested.ok ? undefined : tested.error.code).toBe('LINE_DB_READ_ONLY');
    const fwd = testForwarder({ db: log.db, target: target(url) });
    await failsWith(fwd, log, 'LINE_DB_READ_ONLY');
    expect(fwd.status().state).toBe('refused');
    await cluster().sql(`ALTER DATABASE ${name} RESET default_transaction_read_only`, [], 'postgres');
    await recovers(fwd, log, url);
    log.close();
  });

  it('a full disk on the database: LINE_DB_DISK_FULL, and the backlog drains once space is freed', async () => {
    const url = await freshDatabase(cluster());
    const log = station();
    const fwd = testForwarder({ db: log.db, target: target(url) });
    await fwd.forwardNow();
    // The attempts table on a 2 MB file system, filled up; where mounting is not allowed, the
    // server's own disk-full error (SQLSTATE 53100) is raised by a trigger instead.
    const parent = tempDir('ls-pg-tiny-');
    // The server (user postgres) must reach the mount point through the test's private temp folder.
    chmodSync(parent, 0o755);
    const mnt = join(parent, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]).status === 0;
    if (mounted) {
      temporary.push(() => {
        spawnSync('umount', ['-l', mnt]);
        rmSync(mnt, { recursive: true, force: true });
      });
      const ts = `tiny_${process.pid}`;
      const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      if (uid.status === 0 && gid.status === 0) chownSync(mnt, Number(uid.stdout), Number(gid.stdout));
      await cluster().sql(`CREATE TABLESPACE ${ts} LOCATION '${mnt}'`);
      temporary.push(async () => {
        await query(url, 'DROP TABLE IF EXISTS filler').catch(() => undefined);
      });
      await query(url, `ALTER TABLE linestation.attempts SET TABLESPACE ${ts}`);
      await query(url, `CREATE TABLE filler (x text) TABLESPACE ${ts}`);
      await query(url, `ALTER TABLE filler ALTER COLUMN x SET STORAGE PLAIN`);
      await expect(
        query(url, `INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 100000)`),
      ).rejects.toMatchObject({ code: '53100' });
      // Fill the last pages exactly: small rows until even they do not fit.
      await query(url, `INSERT INTO filler SELECT repeat('x', 50) FROM generate_series(1, 1000000)`).catch(
        () => undefined,
      );
    } else {
      await query(
        url,
        `CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`,
      );
      await query(
        url,
        'CREATE TRIGGER full_disk BEFORE INSERT ON linestation.attempts FOR EACH ROW EXECUTE FUNCTION full_disk()',
      );
    }
    for (let i = 0; i < 40; i++) writeHistory(log, `LOT-FILL-${i}`);
    await failsWith(fwd, log, 'LINE_DB_DISK_FULL');
    expect(fwd.status().state).toBe('unreachable');
    if (mounted) await query(url, 'DROP TABLE filler');
    else await query(url, 'DROP TRIGGER full_disk ON linestation.attempts');
    await recovers(fwd, log, url);
    log.close();
    if (mounted) {
      // Off the small file system again, and checkpointed: a later crash of this cluster (the
      // outage test) must not replay the filler into a full tablespace.
      await query(url, 'ALTER TABLE linestation.attempts SET TABLESPACE pg_default');
      await cluster().sql(`DROP TABLESPACE tiny_${process.pid}`);
      await cluster().sql('CHECKPOINT');
    }
  });

  it('the network cut in the middle of a transaction: LINE_DB_CONNECTION_LOST, then exactly the rows', async () => {
    const url = await freshDatabase(cluster());
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: cluster().port });
    temporary.push(() => proxy.close());
    const viaProxy = url.replace(`:${cluster().port}/`, `:${proxy.port}/`);
    const log = station();
    const fwd = testForwarder({ db: log.db, target: target(viaProxy) });
    await fwd.forwardNow(); // schema in place, then the cut lands inside a forwarding transaction
    // The station's BEGIN and its own row have gone through; the cable is pulled as the attempts go.
    proxy.setCutWhen((chunk) => chunk.includes('INSERT INTO linestation.attempts'));
    await failsWith(fwd, log, 'LINE_DB_CONNECTION_LOST');
    expect(proxy.cuts).toBeGreaterThan(0);
    expect(lineStatusLine(fwd.status())).toMatch(/unreachable since \d\d:\d\d \(LINE_DB_CONNECTION_LOST\)/);
    proxy.setCutWhen(undefined);
    await recovers(fwd, log, url);
    log.close();
  });

  it('a slow database: the station commits and identifies without waiting for it', async () => {
    const url = await freshDatabase(cluster());
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: cluster().port });
    temporary.push(() => proxy.close());
    const slow = url.replace(`:${cluster().port}/`, `:${proxy.port}/`);
    const log = station();
    const fwd = testForwarder({ db: log.db, target: target(slow) });
    await fwd.forwardNow();
    proxy.setDelay(1500);
    let forwarded = false;
    fwd.subscribe((e) => {
      if (e.type === 'forwarded') forwarded = true;
    });
    writeHistory(log, 'LOT-SLOW-1');
    fwd.start();
    // A pass is now waiting on the slow database; the station's own commits do not.
    await new Promise((r) => setTimeout(r, 100));
    const b = log.requireBatch('LOT-SLOW-1');
    const a = await log.grouped(() => log.startAttempt({ batchId: b.id, slot: 9, portPath: '1-9' }));
    await log.grouped(() => log.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' }));
    expect(forwarded).toBe(false);
    // Identify asks with its own short bound and goes on without an answer.
    const pool = createLinePool({ url: slow, applicationName: 'slow', max: 2 });
    temporary.push(() => pool.end());
    const check = createLineCheck({
      pool,
      url: slow,
      station: { id: fwd.status().stationId, name: 'B-1' },
      timeoutMs: 300,
    });
    const r = await check.check('e00fce68ffffffffffffffff', {
      attemptId: a.id,
      lot: 'LOT-SLOW-1',
      productId: '12345',
      signal: new AbortController().signal,
    });
    expect(r.check).toBe('skipped: no answer within 300 ms');
    expect(forwarded).toBe(false);
    proxy.setDelay(0);
    await recovers(fwd, log, url);
    log.close();
  });

  it('an outage: the database stops, the station logs on, the backlog drains when it returns', async () => {
    const url = await freshDatabase(cluster());
    const log = station();
    const fwd = testForwarder({ db: log.db, target: target(url) });
    fwd.start();
    await expect.poll(() => fwd.status().behind, { timeout: 10_000 }).toBe(0);
    await cluster().stop('immediate');
    try {
      for (let i = 0; i < 10; i++) writeHistory(log, `LOT-OUT-${i}`);
      await expect.poll(() => fwd.status().state, { timeout: 15_000 }).toBe('unreachable');
      expect(fwd.status().behind).toBeGreaterThan(100);
      expect(fwd.status().failingSince).not.toBeNull();
    } finally {
      await cluster().start();
    }
    await recovers(fwd, log, url);
    log.close();
  });

  it('a newer line schema than the station knows: LINE_DB_SCHEMA_NEWER, nothing written, the station works on', async () => {
    const url = await freshDatabase(cluster());
    const log = station();
    await testForwarder({ db: log.db, target: target(url) }).forwardNow();
    await query(url, "INSERT INTO linestation.schema_migrations (name) VALUES ('line-99-from-the-future')");
    const before = (await query(url, 'SELECT count(*)::int AS n FROM linestation.attempts')).rows[0]?.n;
    const fwd = testForwarder({ db: log.db, target: target(url) });
    await failsWith(fwd, log, 'LINE_DB_SCHEMA_NEWER');
    expect(fwd.status().state).toBe('refused');
    expect(fwd.status().error?.message).toContain('line-99-from-the-future');
    const tested = await testLineDb(target(url));
    expect(tested.ok ? undefined : tested.error.code).toBe('LINE_DB_SCHEMA_NEWER');
    await fwd.stop();
    expect((await query(url, 'SELECT count(*)::int AS n FROM linestation.attempts')).rows[0]?.n).toBe(before);
    log.close();
  });

  it("a station clock hours off: shown as LINE_CLOCK_SKEW; rows keep the station's own order", async () => {
    const url = await freshDatabase(cluster());
    const ahead = 3 * 3_600_000;
    const { log } = openLog(tempDir('ls-line-skew-'), () => new Date(Date.now() + ahead));
    writeHistory(log, 'LOT-SKEW');
    const fwd = testForwarder({ db: log.db, target: target(url), now: () => Date.now() + ahead });
    const st = await fwd.forwardNow();
    expect(st.clockSkewMs).toBeGreaterThan(ahead - 60_000);
    expect(st.clockSkewMs).toBeLessThan(ahead + 60_000);
    expect(st.warnings.map((w) => w.code)).toEqual(['LINE_CLOCK_SKEW']);
    expect(st.warnings[0]?.message).toMatch(/clock is 3 h 0 min ahead of the line database's/);
    expect(lineStatusLine(st)).toBe('line database: connected, LINE_CLOCK_SKEW');
    const skew = await query(url, 'SELECT clock_skew_ms FROM linestation.stations WHERE station_id = $1', [
      st.stationId,
    ]);
    expect(Number(skew.rows[0]?.clock_skew_ms)).toBeGreaterThan(ahead - 60_000);
    // Ordered by the station's sequence, the attempts come in the order they happened.
    const order = await query(url, 'SELECT attempt_id FROM linestation.attempts ORDER BY seq, attempt_id');
    const ids = order.rows.map((r) => Number(r.attempt_id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    log.close();
  });

  it('two stations with the same name: both kept apart by ID, and each is shown the other', async () => {
    const url = await freshDatabase(cluster());
    const one = station('LOT-1');
    const two = station('LOT-2');
    const a = testForwarder({
      db: one.db,
      target: target(url),
      station: { id: '11111111-1111-4111-8111-111111111111', name: 'B-3' },
    });
    const b = testForwarder({
      db: two.db,
      target: target(url),
      station: { id: '22222222-2222-4222-8222-222222222222', name: 'B-3' },
    });
    await a.forwardNow();
    await b.forwardNow();
    await a.forwardNow();
    for (const [fwd, other] of [
      [a, '22222222-2222-4222-8222-222222222222'],
      [b, '11111111-1111-4111-8111-111111111111'],
    ] as const) {
      const st = fwd.status();
      expect(st.warnings.map((w) => w.code)).toEqual(['LINE_DUPLICATE_STATION_NAME']);
      expect(st.warnings[0]?.message).toContain(other);
      expect(st.sameNameStations.map((s) => s.stationId)).toEqual([other]);
    }
    const rows = await query(
      url,
      "SELECT station_id::text FROM linestation.stations WHERE name = 'B-3' ORDER BY 1",
    );
    expect(rows.rows.map((r) => r.station_id)).toEqual([
      '11111111-1111-4111-8111-111111111111',
      '22222222-2222-4222-8222-222222222222',
    ]);
    await expectExactlyStationRows(url, one.db, '11111111-1111-4111-8111-111111111111');
    await expectExactlyStationRows(url, two.db, '22222222-2222-4222-8222-222222222222');
    one.close();
    two.close();
  });
});

import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS, writeExport } from '../../core/store/export';
import { createReadPool, readLineReport } from '../../core/supervisor/read';
import { type Supervisor, startSupervisor } from '../../core/supervisor/server';
import type {
  GroupStats,
  LineState,
  LineStats,
  LineUpdate,
  UnitHistoryView,
} from '../../core/supervisor/types';
import { freshDatabase, pgSkip, withPgCluster } from '../line-db/pg-cluster';
import { dev, STATION_A, STATION_B, seedLine, targetFor } from './line-fixture';
import { openEvents } from './sse-client';

const cluster = withPgCluster();
let sup: Supervisor | undefined;
afterEach(async () => {
  await sup?.close();
  sup = undefined;
});

const start = async (url: string) => {
  const s = await startSupervisor({ target: targetFor(url), debounceMs: 20, stationPollMs: 200 });
  if (!s.ok) throw new Error(`${s.error.code}: ${s.error.message}`);
  sup = s.value;
  return s.value;
};

const get = async <T>(s: Supervisor, path: string): Promise<T> => {
  const r = await fetch(new URL(path, s.url));
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

const group = (list: readonly GroupStats[], key: string): GroupStats => {
  const g = list.find((x) => x.key === key);
  if (!g) throw new Error(`no group ${key} in ${list.map((x) => x.key).join(', ')}`);
  return g;
};

describe.skipIf(pgSkip)('the supervisor server against a real line database', () => {
  it('serves the line numbers: counts, yield, first-pass yield across a retest at another station, Pareto, percentiles', async () => {
    const url = await freshDatabase(cluster());
    await seedLine(url);
    const s = await start(url);
    const state = await get<LineState>(s, '/api/state');

    expect(state.stations.map((x) => [x.name, x.stationId, x.behind])).toEqual([
      ['A-1', STATION_A, 0],
      ['B-2', STATION_B, 0],
    ]);
    expect(state.stations[0]).toMatchObject({ runningLot: 'L1', operator: 'ana', slotsBusy: 0 });

    const t = state.totals;
    expect(t).toMatchObject({
      attempts: 8,
      passed: 4,
      failed: 3,
      skipped: 1,
      running: 0,
      units: 4,
      unitsPassed: 4,
    });
    expect(t.yield).toBe(1);
    expect([t.firstUnits, t.firstPassed, t.firstPassYield]).toEqual([4, 2, 0.5]);
    // 4 units passed in the lot's 8 minutes.
    expect(t.devicesPerHour).toBeCloseTo(30, 6);
    expect(t.pareto.map((p) => [p.code, p.count])).toEqual([
      ['DFU_VERIFY_MISMATCH', 1],
      ['STEP_TIMEOUT', 1],
      ['USB_TIMEOUT', 1],
    ]);
    expect(t.pareto.at(-1)?.cumulativePercent).toBeCloseTo(100, 9);
    // Exact below 100 ms (nearest rank, as the station's own statistics); within 1 % above.
    expect(t.stepMs.identify).toEqual({ count: 7, p50: 46, p90: 52, p95: 52, p99: 52, max: 52 });
    expect(t.stepMs.flash?.count).toBe(4);
    expect(Math.abs((t.stepMs.flash?.p50 ?? 0) - 9100) / 9100).toBeLessThan(0.01);
    expect(t.stepMs.flash?.max).toBe(9300);

    const a = group(state.byStation, STATION_A);
    const b = group(state.byStation, STATION_B);
    expect(a).toMatchObject({ label: 'A-1', attempts: 4, passed: 2, failed: 2, units: 3, unitsPassed: 2 });
    expect([a.firstUnits, a.firstPassed]).toEqual([3, 2]);
    expect(b).toMatchObject({
      label: 'B-2',
      attempts: 4,
      passed: 2,
      failed: 1,
      skipped: 1,
      units: 3,
      unitsPassed: 2,
    });
    // dev2 failed at A first: its PASS at B is a retest, not a first pass, whatever B's try number.
    expect([b.firstUnits, b.firstPassed, b.firstPassYield]).toEqual([1, 0, 0]);

    const ops = await get<LineStats>(s, '/api/stats?by=operator');
    expect(ops.groups.map((g) => [g.key, g.units, g.firstUnits, g.firstPassed])).toEqual([
      ['ana', 3, 3, 2],
      ['bob', 3, 1, 0],
    ]);
    const lots = await get<LineStats>(s, '/api/stats?by=lot');
    expect(lots.groups).toHaveLength(1);
    expect(lots.groups[0]).toMatchObject({
      key: 'L1',
      units: 4,
      unitsPassed: 4,
      firstPassYield: 0.5,
      stations: 2,
    });

    // `linestation line status --json` prints these numbers: the same read, summed the same way.
    const report = await readLineReport(targetFor(url));
    if (!report.ok) throw new Error(report.error.message);
    expect(report.value.totals).toEqual(t);
    expect(report.value.byStation).toEqual(state.byStation);
    expect(report.value.byOperator).toEqual(ops.groups);
    expect(report.value.byLot).toEqual(lots.groups);

    const bad = await fetch(new URL('/api/stats?by=shift', s.url));
    expect(bad.status).toBe(400);
  });

  it('looks a unit up by device ID and by label serial, across stations', async () => {
    const url = await freshDatabase(cluster());
    await seedLine(url);
    const s = await start(url);
    const byId = await get<UnitHistoryView>(s, `/api/unit/${dev(2).toUpperCase()}`);
    expect(byId.matchedBy).toBe('device');
    expect(byId.attempts.map((x) => [x.station, x.result, x.errorCode])).toEqual([
      ['A-1', 'fail', 'DFU_VERIFY_MISMATCH'],
      ['B-2', 'pass', null],
    ]);
    const byLabel = await get<UnitHistoryView>(s, '/api/unit/SN-0002');
    expect(byLabel.matchedBy).toBe('label');
    expect(byLabel.deviceIds).toEqual([dev(2)]);
    expect(byLabel.attempts).toEqual(byId.attempts.map((x) => ({ ...x })));
    const none = await get<UnitHistoryView>(s, '/api/unit/nothing-like-it');
    expect(none).toMatchObject({ matchedBy: null, attempts: [] });
  });

  it("exports the line's attempts as CSV with the station export's columns and cells", async () => {
    const url = await freshDatabase(cluster());
    const { a, la } = await seedLine(url);
    const s = await start(url);
    const r = await fetch(new URL('/api/attempts.csv', s.url));
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await r.text()).split('\r\n').filter((l) => l !== '');
    expect(lines[0]).toBe([...EXPORT_COLUMNS, 'station_id'].join(','));
    expect(lines).toHaveLength(1 + 8);
    // A's rows are the station's own export, cell for cell, with its station ID appended.
    let own = '';
    writeExport(a.log, a.log.requireBatchById(la), 'csv', (c) => {
      own += c;
    });
    const ownRows = own
      .split('\r\n')
      .filter((l) => l !== '')
      .slice(1);
    expect(lines.filter((l) => l.endsWith(`,${STATION_A}`))).toEqual(ownRows.map((l) => `${l},${STATION_A}`));
    const one = await (await fetch(new URL('/api/attempts.csv?lot=nope', s.url))).text();
    expect(one.split('\r\n').filter((l) => l !== '')).toHaveLength(1);
  });

  it('is read-only: no method but GET, and its database sessions refuse writes', async () => {
    const url = await freshDatabase(cluster());
    await seedLine(url);
    const s = await start(url);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(new URL('/api/state', s.url), { method });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
    }
    const pool = createReadPool(targetFor(url), { max: 1 });
    try {
      await expect(pool.query("DELETE FROM linestation.attempts WHERE lot = 'L1'")).rejects.toMatchObject({
        code: '25006',
      });
      await expect(pool.query('CREATE TABLE linestation.x (a int)')).rejects.toMatchObject({ code: '25006' });
    } finally {
      await pool.end();
    }
    const left = await get<LineState>(s, '/api/state');
    expect(left.totals.attempts).toBe(8);
  });

  it('refuses to start with a wrong password, naming it without the password', async () => {
    const url = await freshDatabase(cluster());
    const wrong = url.replace(`:${cluster().password}@`, ':not-the-password@');
    const s = await startSupervisor({ target: targetFor(wrong) });
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.error.code).toBe('LINE_DB_AUTH_FAILED');
    expect(JSON.stringify(s.error)).not.toContain('not-the-password');
    const r = await readLineReport(targetFor(wrong));
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('not-the-password');
  });

  it('binds to 127.0.0.1 by default and refuses another Host (DNS rebinding)', async () => {
    const url = await freshDatabase(cluster());
    const s = await start(url);
    expect(s.host).toBe('127.0.0.1');
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: s.port, path: '/api/state', headers: { host: 'evil.example:80' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
    // An empty line database (no station forwarded yet) is an empty view, not an error.
    const state = await get<LineState>(s, '/api/state');
    expect(state.stations).toEqual([]);
    expect(state.totals.attempts).toBe(0);
  });

  it('pushes a forwarded change to a connected page as a small update; a dropped stream reconnects to a hello', async () => {
    const url = await freshDatabase(cluster());
    const { a } = await seedLine(url);
    const s = await start(url);
    const events = await openEvents(new URL('/api/events', s.url).href);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await events.next((e) => e.event === 'hello');

    const l2 = a.batch('L2', 'cy');
    a.attempt(l2, { device: dev(9), result: 'pass', steps: { identify: 41 } });
    await a.forward();
    const u = (await events.next((e) => e.event === 'update')).data as LineUpdate;
    expect(u.totals.attempts).toBe(9);
    expect(u.changed.lot.map((g) => g.key)).toEqual(['L2']);
    expect(u.changed.operator.map((g) => g.key)).toEqual(['cy']);
    expect(u.changed.station.map((g) => [g.key, g.attempts])).toEqual([[STATION_A, 5]]);
    expect(u.stations.find((x) => x.stationId === STATION_A)?.runningLot).toBe('L2');
    const after = await get<LineState>(s, '/api/state');
    expect(after.version).toBeGreaterThanOrEqual(u.version);
    expect(after.totals.attempts).toBe(9);

    // The server drops the stream (as a restart or a proxy would): it ends, and a new one says hello
    // with the current version, on which the page reloads its state.
    s.dropClients();
    await events.untilEnded();
    const again = await openEvents(new URL('/api/events', s.url).href);
    const hello = await again.next((e) => e.event === 'hello');
    expect((hello.data as { version: number }).version).toBe(s.model.version);
    again.close();
    events.close();
  });

  it('reads every lot of a pass whose notice was cut at 20 lots, and sends station changes without a pass', async () => {
    const url = await freshDatabase(cluster());
    const { a } = await seedLine(url);
    const s = await start(url);
    const events = await openEvents(new URL('/api/events', s.url).href);
    await events.next((e) => e.event === 'hello');
    // One pass touching 22 lots: its NOTIFY names only 20.
    for (let i = 0; i < 22; i++)
      a.attempt(a.batch(`M${String(i).padStart(2, '0')}`, 'ana'), { device: dev(100 + i), result: 'pass' });
    await a.forward();
    await events.next((e) => e.event === 'update' && (e.data as LineUpdate).totals.attempts === 8 + 22);
    const lots = await get<LineStats>(s, '/api/stats?by=lot&limit=500');
    expect(lots.groups.filter((g) => g.key.startsWith('M'))).toHaveLength(22);

    // A station's backlog changes (its heartbeat) without forwarding anything: a 'stations' event.
    const from = events.events.length;
    await cluster().sql(
      `UPDATE linestation.stations SET behind = 42 WHERE station_id = '${STATION_B}'`,
      [],
      url.split('/').pop(),
    );
    const st = await events.next((e) => e.event === 'stations', from);
    const b = (st.data as { stations: { stationId: string; behind: number }[] }).stations.find(
      (x) => x.stationId === STATION_B,
    );
    expect(b?.behind).toBe(42);
    events.close();
  });

  it('reads the whole line again when its LISTEN connection comes back, and tells the pages to reload', async () => {
    const url = await freshDatabase(cluster());
    const { a } = await seedLine(url);
    const s = await start(url);
    const events = await openEvents(new URL('/api/events', s.url).href);
    await events.next((e) => e.event === 'hello');
    // Cut the supervisor's listening session; forward while it is gone (that notice is lost).
    await cluster().sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'linestation supervisor (listen)'",
    );
    const lost = await events.next((e) => e.event === 'database');
    expect(lost.data).toMatchObject({ state: 'lost', error: { code: 'LINE_DB_CONNECTION_LOST' } });
    expect((await get<LineState>(s, '/api/state')).database.state).toBe('lost');
    const l3 = a.batch('L3', 'ana');
    a.attempt(l3, { device: dev(11), result: 'fail', code: 'WRONG_PLATFORM' });
    await a.forward();
    await events.next((e) => e.event === 'reset');
    await events.next((e) => e.event === 'database' && (e.data as { state: string }).state === 'live');
    const state = await get<LineState>(s, '/api/state');
    expect(state.totals.attempts).toBe(9);
    expect(state.totals.pareto.map((p) => p.code)).toContain('WRONG_PLATFORM');
    events.close();
  });
});

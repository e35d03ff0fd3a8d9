/*
 * Line database benchmark (`npm run bench -- line-db`), against a temporary PostgreSQL 15 cluster
 * on this machine with fsync on (started and removed here):
 *   throughput  16 stations forwarding at once into one database, each with a backlog of
 *               attempts (16 committed changes each, as a flash-on-line attempt makes): attempt
 *               records per second reaching the line database (goal ≥ 5,000/s)
 *   lag         the line's real rate (16 stations × 16 slots, an attempt per slot every 10 s,
 *               its changes spread over it): time from a change's local commit to the line
 *               database's commit that carries it (goal p99 < 2 s)
 *   feed cost   the station's durable writes with the change feed's triggers on and off
 *   lookup      the check at identify (claim + unit history + release) and the history query
 *               alone, on a line database holding 1,000,000 attempts (goal p99 < 20 ms)
 * Everything runs on one machine: the stations' SQLite, the forwarders (one Node process) and the
 * database share its cores, which a real line does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { type LineDbTarget, lineDbTargetFromEnv } from '../core/line-db/config';
import { createLinePool } from '../core/line-db/connection';
import { createForwarder, type Forwarder } from '../core/line-db/forwarder';
import { lookupUnitHistory } from '../core/line-db/history';
import { createLineCheck } from '../core/line-db/line-check';
import { startTempCluster, type TempCluster } from '../core/line-db/temp-cluster';
import { enableLineFeed, lineFeedState } from '../core/store/line-feed';
import type { NewBatch } from '../core/store/records';
import { StationLog } from '../core/store/station-log';
import { load, log, printRows, type Row } from './lib/report';

const STATIONS = 16;
const SLOTS = 16;
const BACKLOG = Number(process.env.LS_BENCH_BACKLOG ?? 2500); // attempts per station
const LAG_SECONDS = Number(process.env.LS_BENCH_LAG_S ?? 30);
const ATTEMPT_MS = 10_000;
const CHANGES_PER_ATTEMPT = 16;
const MILLION = Number(process.env.LS_BENCH_ATTEMPTS ?? 1_000_000);

const rows: Row[] = [];
const ms = (v: number) => `${v.toFixed(1)} ms`;
const pct = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const stationId = (i: number) => `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
const deviceId = (n: number) => `e00fce68${n.toString(16).padStart(16, '0')}`;

const batch = (lot: string, station: string): NewBatch => ({
  lot,
  product: '4242',
  platform: 'boron',
  profileName: 'bench',
  profileHash: '0'.repeat(64),
  mode: 'flash-on-line',
  firmware: [{ name: 'app.bin', sha256: '1'.repeat(64) }],
  operator: 'bench',
  station,
  targetCount: null,
  offline: true,
  acceptances: [],
});

const STEP_UPDATES = [
  'identify',
  'identify_ms',
  'normal-update',
  'normal_update_ms',
  'ensure-dfu',
  'ensure_dfu_ms',
  'flash',
  'flash_ms',
  'leave',
  'leave_ms',
  'confirm',
  'confirm_ms',
  'register',
  'register_ms',
] as const;

/**
 * A station log with `n` finished attempts, each committed as the pipeline commits it (an insert,
 * a step begun and finished at a time, the outcome): 16 changes in the feed per attempt. Written
 * in one transaction, with the feed on, so the backlog is exactly what a station would hold.
 */
const backlogStation = (dir: string, i: number, n: number): StationLog => {
  const { log: store } = StationLog.open(dir);
  enableLineFeed(store.db);
  const b = store.createBatch(batch(`LOT-${i}`, `S-${i}`));
  const db: DatabaseSync = store.db;
  db.exec('BEGIN');
  const insert = db.prepare(
    "INSERT INTO attempts (batch_id, device_id, platform, slot, port_path, try_number, result, started_at) VALUES (?, ?, 'boron', ?, ?, 1, 'running', ?)",
  );
  const updates = STEP_UPDATES.map((c) =>
    c.endsWith('_ms')
      ? db.prepare(`UPDATE attempts SET ${c} = ? WHERE id = ?`)
      : db.prepare('UPDATE attempts SET step = ? WHERE id = ?'),
  );
  const finish = db.prepare(
    "UPDATE attempts SET result = 'pass', registration_state = 'queued', finished_at = ?, duration_ms = ? WHERE id = ?",
  );
  for (let k = 0; k < n; k++) {
    const at = new Date(Date.now() - (n - k) * 1000).toISOString();
    const id = Number(
      insert.run(b.id, deviceId(i * 10_000_000 + k), (k % SLOTS) + 1, `1-${k % SLOTS}`, at).lastInsertRowid,
    );
    STEP_UPDATES.forEach((c, j) => {
      updates[j]?.run(c.endsWith('_ms') ? 100 + j : c, id);
    });
    finish.run(at, 9000, id);
  }
  db.exec('COMMIT');
  return store;
};

const target = (c: TempCluster): LineDbTarget => {
  const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: c.url });
  if (!t.ok || !t.value) throw new Error('bad URL');
  return t.value;
};

const throughput = async (c: TempCluster, root: string) => {
  const stores = Array.from({ length: STATIONS }, (_, i) =>
    backlogStation(join(root, `tp-${i}`), i, BACKLOG),
  );
  const changes = stores.reduce((n, s) => n + lineFeedState(s.db).behind, 0);
  log(`throughput: ${STATIONS} stations × ${BACKLOG} attempts (${changes} changes) queued`);
  const forwarders: Forwarder[] = stores.map((s, i) =>
    createForwarder({ db: s.db, target: target(c), station: { id: stationId(i + 1), name: `S-${i}` } }),
  );
  // The schema first (from an empty station), so the clock measures forwarding only.
  const { log: empty } = StationLog.open(join(root, 'setup'));
  await createForwarder({
    db: empty.db,
    target: target(c),
    station: { id: stationId(99), name: 'setup' },
  }).forwardNow();
  empty.close();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(forwarders.map((f) => f.forwardNow({ deadlineMs: 600_000 })));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const total = Number(
    (await c.sql('SELECT count(*) AS n FROM linestation.attempts WHERE station_id <> $1', [stationId(99)]))
      .rows[0]?.n,
  );
  const behind = stores.reduce((n, s) => n + lineFeedState(s.db).behind, 0);
  if (total !== STATIONS * BACKLOG || behind !== 0)
    log(
      `throughput: WARNING ${total} of ${STATIONS * BACKLOG} attempts arrived, ${behind} changes still queued`,
    );
  const perS = total / (elapsed / 1000);
  log(
    `throughput: ${total} attempts in ${(elapsed / 1000).toFixed(1)} s = ${perS.toFixed(0)}/s; forwarders' CPU ${((cpu.user + cpu.system) / 1000 / elapsed).toFixed(2)} cores`,
  );
  rows.push({
    metric: `throughput: attempt records/s, ${STATIONS} stations at once`,
    measured: `${perS.toFixed(0)}/s`,
    goal: '≥ 5,000/s',
    pass: perS >= 5000,
  });
  for (const s of stores) s.close();
};

const lag = async (c: TempCluster, root: string) => {
  const lags: number[] = [];
  const stations = Array.from({ length: STATIONS }, (_, i) => {
    const { log: store } = StationLog.open(join(root, `lag-${i}`));
    enableLineFeed(store.db);
    const b = store.createBatch(batch(`LAG-${i}`, `L-${i}`));
    const committed = new Map<number, number>();
    const fwd = createForwarder({
      db: store.db,
      target: target(c),
      station: { id: stationId(100 + i), name: `L-${i}` },
      onEvent: (e) => {
        if (e.type !== 'forwarded') return;
        const now = performance.now();
        for (const [seq, at] of committed)
          if (seq <= e.upToSeq) {
            lags.push(now - at);
            committed.delete(seq);
          }
      },
    });
    return { store, b, committed, fwd };
  });
  for (const s of stations) s.fwd.start();
  // Each slot runs an attempt every ATTEMPT_MS, its 16 changes spread over it; slots start staggered.
  const stop = performance.now() + LAG_SECONDS * 1000;
  const timers: ReturnType<typeof setTimeout>[] = [];
  let written = 0;
  const slot = (s: (typeof stations)[number], n: number) => {
    const loop = async () => {
      while (performance.now() < stop) {
        const a = await s.store.grouped(() =>
          s.store.startAttempt({
            batchId: s.b.id,
            slot: n,
            portPath: `1-${n}`,
            deviceId: deviceId(written++),
          }),
        );
        s.committed.set(lineFeedState(s.store.db).lastSeq, performance.now());
        for (let k = 0; k < CHANGES_PER_ATTEMPT - 2; k++) {
          await new Promise((r) => timers.push(setTimeout(r, ATTEMPT_MS / CHANGES_PER_ATTEMPT)));
          await s.store.grouped(() => s.store.beginStep(a.id, k % 2 === 0 ? 'flash' : 'confirm'));
          s.committed.set(lineFeedState(s.store.db).lastSeq, performance.now());
        }
        await s.store.grouped(() =>
          s.store.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' }),
        );
        s.committed.set(lineFeedState(s.store.db).lastSeq, performance.now());
      }
    };
    return new Promise((r) => timers.push(setTimeout(r, Math.random() * ATTEMPT_MS))).then(loop);
  };
  await Promise.all(stations.flatMap((s) => Array.from({ length: SLOTS }, (_, n) => slot(s, n + 1))));
  await Promise.all(stations.map((s) => s.fwd.forwardNow({ deadlineMs: 30_000 })));
  for (const s of stations) {
    await s.fwd.stop();
    s.store.close();
  }
  lags.sort((a, b) => a - b);
  const attempts = Number(
    (await c.sql("SELECT count(*) AS n FROM linestation.attempts WHERE lot LIKE 'LAG-%'")).rows[0]?.n,
  );
  log(
    `lag: ${lags.length} changes (${attempts} attempts, ${(attempts / LAG_SECONDS).toFixed(1)}/s) over ${LAG_SECONDS} s: p50 ${ms(pct(lags, 50))}, p99 ${ms(pct(lags, 99))}, max ${ms(lags.at(-1) ?? 0)}`,
  );
  rows.push({
    metric: `lag local commit → line commit, p99 (${STATIONS}×${SLOTS} slots)`,
    measured: ms(pct(lags, 99)),
    goal: '< 2000 ms',
    pass: pct(lags, 99) < 2000,
  });
  rows.push({ metric: 'lag, p50', measured: ms(pct(lags, 50)), goal: '(reported)', pass: undefined });
};

const lookups = async (c: TempCluster) => {
  const t0 = performance.now();
  // A million attempts from 16 stations over ~400,000 devices: most passed once, some failed first.
  await c.sql(
    `INSERT INTO linestation.stations (station_id, name)
       SELECT ('0000' || lpad(to_hex(200 + g), 4, '0') || '-0000-4000-8000-000000000000')::uuid, 'M-' || g
         FROM generate_series(0, 15) g ON CONFLICT DO NOTHING`,
  );
  await c.sql(
    `INSERT INTO linestation.attempts (station_id, attempt_id, seq, batch_id, lot, product, device_id, platform, slot,
        port_path, try_number, result, error_code, error_message, started_at, finished_at, duration_ms, flash_ms)
     SELECT ('0000' || lpad(to_hex(200 + g % 16), 4, '0') || '-0000-4000-8000-000000000000')::uuid, g, g, 1,
            'LOT-' || (g / 50000), '4242', 'e00fce68' || lpad(to_hex((g::bigint * 7919) % 400000), 16, '0'), 'boron', g % 16,
            '1-1', 1, CASE WHEN g % 5 = 0 THEN 'fail' ELSE 'pass' END,
            CASE WHEN g % 5 = 0 THEN 'DFU_VERIFY_MISMATCH' END, CASE WHEN g % 5 = 0 THEN 'Read back differs.' END,
            now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval + interval '9 s', 9000, 4000
       FROM generate_series(1, $1::int) g`,
    [MILLION],
  );
  await c.sql('ANALYZE linestation.attempts');
  const n = Number((await c.sql('SELECT count(*) AS n FROM linestation.attempts')).rows[0]?.n);
  log(
    `lookup: ${n} attempts in the line database (loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const pool = createLinePool({ url: c.url, applicationName: 'bench lookups', max: 2 });
  const checker = createLineCheck({
    pool,
    url: c.url,
    station: { id: stationId(300), name: 'LOOKUP' },
    timeoutMs: 5000,
  });
  await c.sql("INSERT INTO linestation.stations (station_id, name) VALUES ($1, 'LOOKUP')", [stationId(300)]);
  const ctx = (k: number) => ({
    attemptId: k,
    lot: 'LOT-3',
    productId: '4242',
    signal: new AbortController().signal,
  });
  const checks: number[] = [];
  const histories: number[] = [];
  const client = new pg.Client({ connectionString: c.url });
  await client.connect();
  for (let k = 0; k < 2000; k++) {
    const id = deviceId((k * 104_729) % 450_000); // about one in nine was never seen
    const t = performance.now();
    const r = await checker.check(id, ctx(k));
    checks.push(performance.now() - t);
    r.release?.();
    const h = performance.now();
    await lookupUnitHistory(client, {
      deviceId: id,
      lot: 'LOT-3',
      productId: '4242',
      stationId: stationId(300),
    });
    histories.push(performance.now() - h);
  }
  await checker.settle(5000);
  // Sixteen stations identifying at the same moment.
  const concurrent: number[] = [];
  const station16 = Array.from({ length: 16 }, (_, i) =>
    createLineCheck({
      pool: createLinePool({ url: c.url, applicationName: `bench ${i}`, max: 2 }),
      url: c.url,
      station: { id: stationId(300), name: 'LOOKUP' },
      timeoutMs: 5000,
    }),
  );
  for (let round = 0; round < 100; round++)
    await Promise.all(
      station16.map(async (ch, i) => {
        const t = performance.now();
        const r = await ch.check(deviceId((round * 16 + i) * 31 + 7), ctx(10_000 + round * 16 + i));
        concurrent.push(performance.now() - t);
        r.release?.();
      }),
    );
  await client.end();
  await pool.end();
  for (const list of [checks, histories, concurrent]) list.sort((a, b) => a - b);
  log(
    `lookup: check at identify (claim + history) p50 ${ms(pct(checks, 50))} p99 ${ms(pct(checks, 99))}; history alone p50 ${ms(pct(histories, 50))} p99 ${ms(pct(histories, 99))}; 16 stations at once p99 ${ms(pct(concurrent, 99))}`,
  );
  rows.push({
    metric: `lookup at identify (claim + history), p99, ${(n / 1e6).toFixed(1)}M attempts`,
    measured: ms(pct(checks, 99)),
    goal: '< 20 ms',
    pass: pct(checks, 99) < 20,
  });
  rows.push({
    metric: 'lookup: history query alone, p99',
    measured: ms(pct(histories, 99)),
    goal: '(reported)',
    pass: undefined,
  });
  rows.push({
    metric: 'lookup: 16 stations identifying at once, p99',
    measured: ms(pct(concurrent, 99)),
    goal: '(reported)',
    pass: undefined,
  });
};

/**
 * What the change feed costs the station: durable attempt records per second (16 writers, group
 * commit, synchronous=FULL, as bench/station.ts measures them) with the feed's triggers off and
 * on, alternated so a noisy machine hits both alike.
 */
const feedCost = async (root: string) => {
  const rate = async (on: boolean, k: number) => {
    const { log: store } = StationLog.open(join(root, `feed-${on ? 'on' : 'off'}-${k}`));
    if (on) enableLineFeed(store.db);
    const b = store.createBatch(batch(`FEED-${k}`, 'F'));
    let n = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        while (performance.now() - t0 < 1500) {
          const a = await store.grouped(() =>
            store.startAttempt({ batchId: b.id, slot: w + 1, portPath: `1-${w}` }),
          );
          await store.grouped(() =>
            store.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' }),
          );
          n++;
        }
      }),
    );
    store.close();
    return (n * 1000) / (performance.now() - t0);
  };
  const off: number[] = [];
  const on: number[] = [];
  for (let k = 0; k < 3; k++) {
    off.push(await rate(false, k));
    on.push(await rate(true, k));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? 0;
  log(
    `feed cost: durable records/s feed off ${off.map((x) => x.toFixed(0)).join(', ')}; on ${on.map((x) => x.toFixed(0)).join(', ')}`,
  );
  rows.push({
    metric: 'station: durable records/s with the line feed on (off)',
    measured: `${median(on).toFixed(0)} (${median(off).toFixed(0)})`,
    goal: '(reported)',
    pass: undefined,
  });
};

const main = async () => {
  log(`line-db bench on ${cpus().length} cores (load ${load()}); PostgreSQL with fsync on`);
  const started = await startTempCluster({ fsync: true, settings: { max_connections: '300' } });
  if (!started.ok) {
    log(`line-db bench skipped: ${started.error.message}`);
    rows.push({ metric: 'line-db bench', measured: 'skipped', goal: started.error.code, pass: undefined });
    printRows(rows);
    return;
  }
  const c = started.value;
  const root = mkdtempSync(join(tmpdir(), 'ls-bench-line-'));
  try {
    await feedCost(root);
    await throughput(c, root);
    await lag(c, root);
    await lookups(c);
  } finally {
    await c.destroy();
    rmSync(root, { recursive: true, force: true });
  }
  printRows(rows);
};

await main();

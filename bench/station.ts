/*
 * Station benchmark (`npm run bench -- station`), with the real timing model (timeScale 1):
 *   overhead    station wall time for one device / that device's inherent time in the simulator
 *               (goal ≤ 1.03): everything the station adds (identify, logging, waiting, confirm)
 *   parallel    16 slots in parallel, devices/hour vs 1 slot (goal ≥ 15×), with CPU and peak RSS
 *   store       durable attempt records per second (goal ≥ 2000/s; each record = its start and its
 *               outcome, each committed with synchronous=FULL before the writer goes on; 16
 *               writers share fsyncs through group commit)
 *   export      100,000 attempts to CSV (goal < 2 s)
 */
import { mkdtempSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistrar } from '../core/cloud/register-step';
import { buildModule } from '../core/firmware/builder';
import { inspectBytes } from '../core/firmware/inspect';
import { validateSet } from '../core/firmware/validate-set';
import { portPaths, SimBus, SimDevice } from '../core/sim';
import { particleDriver } from '../core/station/particle-driver';
import { Station } from '../core/station/station';
import { exportToFile } from '../core/store/export';
import type { NewBatch } from '../core/store/records';
import { StationLog } from '../core/store/station-log';
import { load, log, printRows, type Row, seconds } from './lib/report';

const rows: Row[] = [];
const s = seconds;

const PRODUCT = 4242;
const batchInput = (lot: string): NewBatch => ({
  lot,
  product: String(PRODUCT),
  platform: 'boron',
  profileName: 'bench',
  profileHash: '0'.repeat(64),
  mode: 'flash-on-line',
  firmware: [{ name: 'app.bin', sha256: '1'.repeat(64) }],
  operator: 'bench',
  station: 'bench',
  targetCount: null,
  offline: true,
  acceptances: [],
});

// A mid-size Boron application (100 KB), as in the DFU benchmark.
const app = inspectBytes(
  'app.bin',
  buildModule({
    platformId: 13,
    function: 'user',
    bodySize: 100 * 1024,
    product: { id: PRODUCT, version: 1 },
    dependencies: [{ function: 'system', index: 1, version: 6201 }],
  }),
);
const { errors } = validateSet([app], {
  platformId: 13,
  productId: PRODUCT,
  mode: 'flash-on-line',
  deviceOsVersion: 6201,
});
if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('; '));

/** Runs `count` devices through a station with `slots` slots; resolves when all passed. */
const runStation = async (slots: number, count: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-bench-'));
  const { log: store } = StationLog.open(dir);
  const batch = store.createBatch(batchInput(`B-${slots}`));
  const bus = new SimBus();
  const station = new Station({
    log: store,
    batch,
    source: bus,
    policy: {
      slotCount: slots,
      labels: {},
      platformId: 13,
      maxAttempts: 1,
      retryOn: [],
      reflashAlreadyProvisioned: false,
    },
    driverFor: particleDriver({
      transport: bus,
      files: [app],
      product: { platformId: 13, productId: PRODUCT, mode: 'flash-on-line', deviceOsVersion: 6201 },
      skipWhenCurrent: false,
      setupDone: true,
      verify: true,
      registrar: createRegistrar({ db: store.db, productId: PRODUCT }),
    }),
  });
  const devices: SimDevice[] = [];
  let done = 0;
  const finished = new Promise<void>((resolve, reject) => {
    station.on((e) => {
      if (e.type !== 'attempt-finished') return;
      if (e.attempt.result !== 'pass') reject(new Error(`${e.attempt.errorCode}: ${e.attempt.errorMessage}`));
      if (++done === count) resolve();
    });
  });
  await station.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const [i, port] of portPaths(count).entries()) {
    const d = new SimDevice({ platform: 'boron', seed: `bench-${slots}-${i}`, timeScale: 1 });
    devices.push(d);
    bus.plug(d, port);
  }
  await finished;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await station.stop();
  const attempts = store.attempts(batch.id);
  bus.dispose();
  store.close();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, attempts, devices };
};

log(`machine: ${availableParallelism()} CPUs, load average ${load()}`);

// 1. Overhead of the station over the device's own time.
{
  const one = await runStation(1, 1);
  const a = one.attempts[0];
  const inherent = one.devices[0]?.stats.inherentMs ?? 0;
  const wall = a?.durationMs ?? one.wallMs;
  log(`1 device: attempt ${s(wall)}, device inherent ${s(inherent)}; steps ${JSON.stringify(a?.stepMs)}`);
  const overhead = wall / inherent;
  // What the station itself adds around the steps (logging, events, scheduling); the rest of the
  // overhead sits inside the steps (DFU engine timers, control-request CHECK waits, noticing the
  // re-enumeration). The device's detach and off-bus delays are its own time, counted as inherent.
  const inSteps = Object.values(a?.stepMs ?? {}).reduce((x, y) => x + y, 0);
  rows.push({
    metric: 'overhead: station time outside the steps',
    measured: `${Math.max(0, wall - inSteps).toFixed(0)} ms`,
    goal: '(reported)',
    pass: undefined,
  });
  rows.push({
    metric: 'overhead: station / device inherent',
    measured: overhead.toFixed(3),
    goal: '≤ 1.03',
    pass: overhead <= 1.03,
  });
}

// 2. Parallel throughput: 16 slots vs 1 slot.
{
  const N = 16;
  const one = await runStation(1, 1);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const many = await runStation(N, N);
  clearInterval(sampler);
  const perHour1 = 3_600_000 / one.wallMs;
  const perHourN = (N * 3_600_000) / many.wallMs;
  log(
    `1 slot: ${s(one.wallMs)} per device (${perHour1.toFixed(0)} devices/hour); ${N} slots: ${s(many.wallMs)} for ${N} (${perHourN.toFixed(0)} devices/hour), CPU ${s(many.cpuMs)}`,
  );
  const ratio = perHourN / perHour1;
  rows.push({
    metric: `parallel: devices/hour ${N} slots / 1 slot`,
    measured: `${ratio.toFixed(2)}×`,
    goal: '≥ 15×',
    pass: ratio >= 15,
  });
  rows.push({
    metric: `parallel: CPU time for ${N} devices`,
    measured: `${s(many.cpuMs)} (${((100 * many.cpuMs) / many.wallMs).toFixed(0)}% of one core)`,
    goal: '(reported)',
    pass: undefined,
  });
  rows.push({
    metric: `parallel: peak RSS with ${N} slots`,
    measured: `${(peak / 1048576).toFixed(1)} MB`,
    goal: '(reported)',
    pass: undefined,
  });
}

// 3. Durable attempt records per second.
{
  const dir = mkdtempSync(join(tmpdir(), 'ls-bench-store-'));
  const { log: store } = StationLog.open(dir);
  const batch = store.createBatch(batchInput('B-STORE'));
  // 16 slots writing at once, as on the line: each record's start and outcome are committed
  // (group commit, synchronous=FULL) before the writer goes on.
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (performance.now() - t0 < 2000) {
        const a = await store.grouped(() =>
          store.startAttempt({ batchId: batch.id, slot: w + 1, portPath: `1-1.${w + 1}` }),
        );
        await store.grouped(() => store.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' }));
        n++;
      }
    }),
  );
  const perSec = (n * 1000) / (performance.now() - t0);
  // One slot alone, every write of the pipeline committed on its own (the worst case).
  let m = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < 2000) {
    const a = store.startAttempt({ batchId: batch.id, slot: 1, portPath: '1-1.1' });
    store.setIdentity(a.id, { deviceId: (m + 1).toString(16).padStart(24, '0'), platform: 'boron' });
    for (const step of ['identify', 'ensure-dfu', 'flash', 'leave', 'confirm', 'register'] as const) {
      store.beginStep(a.id, step);
      store.finishStep(a.id, step, 10);
    }
    store.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' });
    m++;
  }
  const fullPerSec = (m * 1000) / (performance.now() - t1);
  log(
    `store: ${n} records in 2 s by 16 writers; one writer, full lifecycle (15 commits each): ${fullPerSec.toFixed(0)}/s`,
  );
  rows.push({
    metric: 'store: durable attempt records/s',
    measured: perSec.toFixed(0),
    goal: '≥ 2000',
    pass: perSec >= 2000,
  });
  rows.push({
    metric: 'store: full lifecycles/s, 1 writer, 15 commits',
    measured: fullPerSec.toFixed(0),
    goal: '(reported)',
    pass: undefined,
  });
  store.close();
}

// 4. Export 100,000 attempts to CSV.
{
  const dir = mkdtempSync(join(tmpdir(), 'ls-bench-export-'));
  const { log: store } = StationLog.open(dir);
  const batch = store.createBatch(batchInput('B-EXPORT'));
  const insert = store.db.prepare(
    `INSERT INTO attempts (batch_id, device_id, platform, slot, port_path, try_number, result, error_code, error_message,
       started_at, finished_at, duration_ms, identify_ms, ensure_dfu_ms, flash_ms, leave_ms, confirm_ms, register_ms, registration_state)
     VALUES (?, ?, 'boron', ?, ?, 1, ?, ?, ?, '2026-01-01T08:00:00.000Z', '2026-01-01T08:00:09.000Z', 9000, 50, 1800, 5200, 60, 1700, 40, 'queued')`,
  );
  store.db.exec('BEGIN');
  for (let i = 0; i < 100_000; i++) {
    const fail = i % 17 === 0;
    insert.run(
      batch.id,
      i.toString(16).padStart(24, '0'),
      (i % 16) + 1,
      `1-1.${(i % 16) + 1}`,
      fail ? 'fail' : 'pass',
      fail ? 'USB_DISCONNECTED' : null,
      fail ? 'The device went away, mid-transfer' : null,
    );
  }
  store.db.exec('COMMIT');
  const file = join(dir, 'export.csv');
  const t0 = performance.now();
  const rowsOut = exportToFile(store, 'B-EXPORT', 'csv', file);
  const ms = performance.now() - t0;
  log(`export: ${rowsOut} rows, ${(statSync(file).size / 1048576).toFixed(1)} MB in ${s(ms)}`);
  rows.push({ metric: 'export: 100,000 attempts to CSV', measured: s(ms), goal: '< 2 s', pass: ms < 2000 });
  store.close();
}

printRows(rows);

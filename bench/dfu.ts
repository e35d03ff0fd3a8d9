/*
 * DFU engine benchmark, on simulated devices with the real timing model (timeScale 1):
 *   overhead        engine wall time / the simulator's inherent time (goal ≤ 1.03)
 *   vs particle-usb our engine / particle-usb 4.1.0's DFU, same device model and image, no verify (≤ 0.95)
 *   verify cost     with verify / without (≤ 1.15)
 *   parallel        16 devices at once vs 1: throughput ratio (≥ 15×), plus peak RSS
 * Run with `npm run bench -- dfu` (add `--repeat=N` to keep the best of N runs per measurement).
 */
import { availableParallelism } from 'node:os';
import { DfuSession, type FlashImage, writeImages } from '../core/dfu';
import { SimBus, SimDevice } from '../core/sim';
import { openWithParticleUsb } from '../test/dfu/particle-usb-adapter';
import { load, log, printRows, type Row, seconds } from './lib/report';

const repeatArg = process.argv.find((a) => a.startsWith('--repeat='));
const REPEAT = Math.max(1, Number(repeatArg?.split('=')[1] ?? 1) || 1);

const pattern = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 0xfe;
  }
  return out;
};

// Sizes close to real Device OS 2.x Photon parts and a mid-size Boron application.
const PHOTON: FlashImage[] = [
  { label: 'system-part1', alt: 0, address: 0x08020000, data: pattern(250 * 1024, 1) },
  { label: 'system-part2', alt: 0, address: 0x08060000, data: pattern(240 * 1024, 2) },
  { label: 'user', alt: 0, address: 0x080a0000, data: pattern(30 * 1024, 3) },
];
const BORON: FlashImage[] = [{ label: 'user', alt: 0, address: 0xb4000, data: pattern(100 * 1024, 4) }];

interface Run {
  wallMs: number;
  inherentMs: number;
}

let seed = 0;
const plug = async (bus: SimBus, platform: string, port: string) => {
  const device = new SimDevice({ platform, mode: 'dfu', seed: `bench-${seed++}`, timeScale: 1 });
  bus.plug(device, port);
  const info = (await bus.list()).find((d) => d.portPath === port);
  if (!info) throw new Error(`no device on ${port}`);
  return { device, handle: await bus.open(info) };
};

const checkFlash = (device: SimDevice, plan: readonly FlashImage[], who: string) => {
  for (const img of plan) {
    const got = device.flash.get(img.alt)?.read(img.address, img.data.length);
    if (!got || Buffer.compare(Buffer.from(got), Buffer.from(img.data)) !== 0)
      throw new Error(`${who} did not write ${img.label} correctly`);
  }
};

const ours = async (
  platform: string,
  plan: readonly FlashImage[],
  verify: boolean,
  bus = new SimBus(),
  port = '1-1.1',
): Promise<Run> => {
  const { device, handle } = await plug(bus, platform, port);
  const session = await DfuSession.open(handle);
  const before = device.stats.inherentMs;
  const t0 = performance.now();
  const r = await writeImages(session, plan, { verify, leave: false });
  const wallMs = performance.now() - t0;
  if (!r.ok) throw new Error(`our engine failed: ${r.error.code} ${r.error.message}`);
  checkFlash(device, plan, 'our engine');
  await session.close();
  return { wallMs, inherentMs: (device.stats.inherentMs - before) * device.timeScale };
};

const particleUsb = async (platform: string, plan: readonly FlashImage[]): Promise<Run> => {
  const bus = new SimBus();
  const { device, handle } = await plug(bus, platform, '1-1.1');
  const dev = await openWithParticleUsb(handle);
  const before = device.stats.inherentMs;
  const t0 = performance.now();
  for (const img of plan)
    await dev.writeOverDfu(Buffer.from(img.data), { altSetting: img.alt, startAddr: img.address });
  const wallMs = performance.now() - t0;
  checkFlash(device, plan, 'particle-usb');
  await dev.close();
  bus.dispose();
  return { wallMs, inherentMs: (device.stats.inherentMs - before) * device.timeScale };
};

const best = async (f: () => Promise<Run>): Promise<Run> => {
  let min: Run | undefined;
  for (let i = 0; i < REPEAT; i++) {
    const r = await f();
    if (!min || r.wallMs < min.wallMs) min = r;
  }
  return min as Run;
};

const rows: Row[] = [];
const row = (metric: string, value: number, goal: string, pass: boolean | undefined, unit = '') =>
  rows.push({ metric, measured: `${value.toFixed(3)}${unit}`, goal, pass });
const s = seconds;

log(
  `machine: ${availableParallelism()} CPUs, load average ${load()}; best of ${REPEAT} run(s) per measurement`,
);

for (const [name, platform, plan] of [
  ['Photon sys1+sys2+user', 'photon', PHOTON],
  ['Boron user', 'boron', BORON],
] as const) {
  const bytes = plan.reduce((n, i) => n + i.data.length, 0);
  log(`${name}: ${(bytes / 1024).toFixed(0)} KB…`);
  // Interleaved, so a burst of load on the shared machine hits every side alike; best of each.
  const runs: { withVerify: Run[]; without: Run[]; theirs: Run[] } = {
    withVerify: [],
    without: [],
    theirs: [],
  };
  for (let i = 0; i < REPEAT; i++) {
    runs.withVerify.push(await ours(platform, plan, true));
    runs.without.push(await ours(platform, plan, false));
    runs.theirs.push(await particleUsb(platform, plan));
  }
  const fastest = (list: Run[]): Run => list.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const withVerify = fastest(runs.withVerify);
  const without = fastest(runs.without);
  const theirs = fastest(runs.theirs);
  log(
    `  ours+verify ${s(withVerify.wallMs)} (device ${s(withVerify.inherentMs)}), ours ${s(without.wallMs)} (device ${s(without.inherentMs)}), particle-usb ${s(theirs.wallMs)} (device ${s(theirs.inherentMs)})`,
  );
  const overhead = withVerify.wallMs / withVerify.inherentMs;
  row(`${name}: overhead (with verify)`, overhead, '≤ 1.03', overhead <= 1.03);
  row(
    `${name}: overhead (no verify)`,
    without.wallMs / without.inherentMs,
    '≤ 1.03',
    without.wallMs / without.inherentMs <= 1.03,
  );
  const vs = without.wallMs / theirs.wallMs;
  row(`${name}: ours / particle-usb (no verify)`, vs, '≤ 0.95', vs <= 0.95);
  const cost = withVerify.wallMs / without.wallMs;
  row(`${name}: verify cost (with / without)`, cost, '≤ 1.15', cost <= 1.15);
}

{
  const N = 16;
  log(`Parallel: ${N} Borons flashing ${(BORON[0]?.data.length ?? 0) / 1024} KB with verify…`);
  const one = await best(() => ours('boron', BORON, true));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  // Best of the same number of runs as the single device, so both sides get the same chances.
  let wall = Number.POSITIVE_INFINITY;
  let runs: Run[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const bus = new SimBus();
    const t0 = performance.now();
    const these = await Promise.all(
      Array.from({ length: N }, (_, k) => ours('boron', BORON, true, bus, `1-1.${k + 1}`)),
    );
    const w = performance.now() - t0;
    bus.dispose();
    if (w < wall) {
      wall = w;
      runs = these;
    }
  }
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const ratio = (N * one.wallMs) / wall;
  log(
    `  1 device ${s(one.wallMs)}, ${N} devices ${s(wall)} (slowest single ${s(Math.max(...runs.map((r) => r.wallMs)))})`,
  );
  row(`parallel: throughput ${N} devices / 1`, ratio, '≥ 15', ratio >= 15, '×');
  rows.push({
    metric: `parallel: peak RSS with ${N} devices`,
    measured: `${(peak / 1024 / 1024).toFixed(1)} MB`,
    goal: '(reported)',
    pass: undefined,
  });
}

printRows(rows);

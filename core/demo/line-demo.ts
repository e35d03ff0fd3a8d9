import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type MockCloud, startMockCloud } from '../cloud/mock-server';
import { err, ok, type Result } from '../errors/result';
import { lineDbTargetFromEnv } from '../line-db/config';
import { startTempCluster, type TempCluster } from '../line-db/temp-cluster';
import { portPaths, SimBus, SimDevice } from '../sim/index';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../station/demo-setup';
import { openSession, type Session } from '../station/session';
import { faultsFor, parseSimFaults } from '../station/sim-faults';
import { SimOperator } from '../station/sim-operator';
import { buildSupervisorPage, defaultPageDir, pageBuilt } from '../supervisor/page-dir';
import { type Supervisor, startSupervisor } from '../supervisor/server';

/*
 * `linestation demo --line`: a whole line on this machine, nothing to install but PostgreSQL's
 * binaries. A temporary PostgreSQL cluster (the line database), the mock Particle Cloud, three
 * stations (each its own data folder, station ID and simulated USB hub, fed devices for ever by a
 * simulated operator, a few of them faulty) forwarding to it, and the supervisor's page reading
 * it. It lives in core/demo because it plugs simulated devices: real code never imports core/sim.
 */

export interface LineDemoOptions {
  /** The demo's folder; its station folders are made afresh (the database is new each run too). */
  readonly dir: string;
  readonly stations?: number | undefined;
  readonly slots?: number | undefined;
  /** Simulated device timing (1 = real time). */
  readonly timeScale?: number | undefined;
  /** The supervisor page's port (default any free one); it listens on 127.0.0.1. */
  readonly port?: number | undefined;
  /** The built page; default the checkout's dist-renderer (built first when missing). */
  readonly pageDir?: string | undefined;
  /** Build the page when it is missing (default true; without it only the API answers). */
  readonly buildPage?: boolean | undefined;
  /** Progress for the person waiting. */
  readonly say?: ((line: string) => void) | undefined;
}

export interface LineDemo {
  readonly url: string;
  /** The line database as people may see it (no password). */
  readonly database: string;
  readonly stations: readonly { readonly name: string; readonly dataDir: string }[];
  readonly supervisor: Supervisor;
  /** Stops the stations (flushing what they forwarded), the page, the cloud and the database. */
  stop(): Promise<void>;
}

const OPERATORS = ['ana', 'bob', 'cy', 'dee', 'eli', 'fay'];
// Enough variety for the Pareto: a bad contact now and then, a readback mismatch, a slow device.
const FAULTS = 'unplug=0.03,verify=0.04,stall=0.02,slow=0.1';

export const startLineDemo = async (o: LineDemoOptions): Promise<Result<LineDemo>> => {
  const say = o.say ?? (() => undefined);
  const count = o.stations ?? 3;
  const timeScale = o.timeScale ?? 0.05;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };

  let pageDir = o.pageDir ?? defaultPageDir();
  if (!pageBuilt(pageDir) && o.buildPage !== false) {
    say('Building the supervisor page (once)…');
    const built = await buildSupervisorPage();
    if (!built.ok) return built;
    pageDir = built.value;
  }

  const started = await startTempCluster();
  if (!started.ok) return started;
  const cluster: TempCluster = started.value;
  cleanups.push(() => cluster.destroy());
  const target = lineDbTargetFromEnv({ LINESTATION_LINE_DB: cluster.url });
  if (!target.ok || !target.value) {
    await cleanup();
    return err('DEMO_LINE_DB', 'The temporary line database gave no usable URL.');
  }
  say(`Line database: ${target.value.display} (temporary, removed at the end)`);

  const cloud: MockCloud = await startMockCloud({
    host: '127.0.0.1',
    port: 0,
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13, releasedFirmware: 3 }],
  });
  cleanups.push(() => cloud.close());
  const setup = await writeDemoProduct(join(o.dir, 'product'), cloud.url, { slots: o.slots ?? 4 });
  if (!setup.ok) {
    await cleanup();
    return setup;
  }
  cloud.addToken(setup.value.token);
  const faults = parseSimFaults(FAULTS);
  if (!faults.ok) {
    await cleanup();
    return faults;
  }

  const lot = `LINE-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-A`;
  const env = { ...process.env, [DEMO_TOKEN_ENV]: setup.value.token, LINESTATION_LINE_DB: cluster.url };
  const stations: { name: string; dataDir: string; session: Session; operator: SimOperator<SimDevice> }[] =
    [];
  for (let i = 0; i < count; i++) {
    const name = `S-${i + 1}`;
    const dataDir = join(o.dir, `station-${i + 1}`);
    rmSync(dataDir, { recursive: true, force: true });
    const bus = new SimBus();
    cleanups.push(() => bus.dispose());
    const opened = await openSession({
      profilePath: setup.value.profilePath,
      lot,
      operator: OPERATORS[i % OPERATORS.length] ?? 'demo',
      station: name,
      dataDir,
      env,
      offline: false,
      acceptances: [],
      transport: bus,
      simulated: true,
      pollMs: Math.max(5, Math.round(500 * timeScale)),
      reenumerationTimeoutMs: Math.max(1000, Math.round(30_000 * timeScale)),
      retryDelayMs: Math.max(1, Math.round(500 * timeScale)),
      registerWaitMs: 2000,
      command: `linestation demo --line (${name})`,
    });
    if (!opened.ok) {
      await cleanup();
      return opened;
    }
    const session = opened.value;
    cleanups.push(async () => {
      await session.station.stop();
      const b = session.log.requireBatchById(session.batch.id);
      if (b.state === 'running')
        session.log.setBatchState(b.id, 'paused', b.operator, { reason: 'demo stopped' });
      await session.close({ flushMs: 3000 });
    });
    await session.station.start();
    const image = session.plan.steps.find((st) => st.path === 'dfu')?.image;
    const span = image ? { address: image.address, size: image.data.length } : { address: 0, size: 1 };
    const operator = new SimOperator<SimDevice>({
      station: session.station,
      bus,
      ports: portPaths(session.policy.slotCount),
      // Devices keep coming until the demo is stopped.
      devices: Number.MAX_SAFE_INTEGER,
      makeDevice: (k) =>
        new SimDevice({
          platform: session.batch.platform,
          seed: `${name}:${k}`,
          timeScale,
          faults: faultsFor({ ...faults.value, seed: i + 1 }, k, span).faults,
        }),
    });
    operator.start();
    cleanups.push(() => operator.stop());
    stations.push({ name, dataDir, session, operator });
    say(`Station ${name}: ${session.policy.slotCount} slots, lot ${lot}, data in ${dataDir}`);
  }

  // Each station's first pass (its row, its batch) is in before the page opens, so the page
  // shows the whole line from its first paint.
  await Promise.all(stations.map((st) => st.session.line?.forwarder.forwardNow({ deadlineMs: 10_000 })));

  const sup = await startSupervisor({ target: target.value, port: o.port ?? 0, pageDir });
  if (!sup.ok) {
    await cleanup();
    return sup;
  }
  cleanups.push(() => sup.value.close());

  let stopped: Promise<void> | undefined;
  return ok({
    url: sup.value.url,
    database: target.value.display,
    stations: stations.map(({ name, dataDir }) => ({ name, dataDir })),
    supervisor: sup.value,
    stop: () => {
      stopped ??= cleanup();
      return stopped;
    },
  });
};

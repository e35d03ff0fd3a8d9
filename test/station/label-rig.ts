import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import type { LabelTemplateInput } from '../../core/labels/template-schema';
import { SimBus, SimDevice } from '../../core/sim/index';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../../core/station/demo-setup';
import { loadProfile, saveProfile } from '../../core/station/profile';
import { lockProfile } from '../../core/station/profile-lock';
import type { ProfileInput } from '../../core/station/profile-schema';
import { openSession, type Session, type SessionOptions } from '../../core/station/session';
import type { StationEvent } from '../../core/station/station';
import { startFakeZplPrinter } from '../labels/fake-zpl-printer';
import { tempDir } from '../store/helpers';

/*
 * A labelling line for station, app, CLI and UI tests: the demo product (a Boron user part,
 * registering to the mock cloud on 127.0.0.1) whose locked profile carries a label template
 * aimed at the fake ZPL printer on 127.0.0.1.
 */

/** A 50 × 25 mm label with a Data Matrix of the device ID (simulated devices report no serial). */
export const labelTemplate = (
  printer: { host: string; port: number },
  over: Partial<LabelTemplateInput> = {},
) =>
  ({
    size: { widthMm: 50, heightMm: 25 },
    symbol: { type: 'datamatrix', content: 'deviceId' },
    lines: [
      { field: 'productName' },
      { field: 'deviceId' },
      { field: 'serial', caption: 'SN', optional: true },
      { field: 'iccid', caption: 'ICCID', optional: true },
      { field: 'lot' },
      { field: 'date' },
    ],
    // Roomy: a loaded machine must not turn a slow local answer into NO_ANSWER.
    printer: { kind: 'zpl', host: printer.host, port: printer.port, timeoutMs: 10_000 },
    scanBack: true,
    ...over,
  }) satisfies LabelTemplateInput;

/** Puts `label` into a locked profile and locks it again (an engineer's reviewed change). */
export const addLabel = async (
  profilePath: string,
  label: LabelTemplateInput,
  env: NodeJS.ProcessEnv,
): Promise<void> => {
  const raw = JSON.parse(await readFile(profilePath, 'utf8')) as ProfileInput;
  const saved = await saveProfile(profilePath, { ...raw, label });
  if (!saved.ok) throw new Error(`${saved.error.code}: ${saved.error.message}`);
  const locked = await lockProfile(saved.value, { env, relock: true });
  if (!locked.ok) throw new Error(`${locked.error.code}: ${locked.error.message}`);
  const reloaded = await loadProfile(profilePath);
  if (!reloaded.ok || !reloaded.value.profile.label) throw new Error('the label did not stick');
};

export type LabelLine = Awaited<ReturnType<typeof startLabelLine>>;

export const startLabelLine = async (
  o: {
    slots?: number;
    label?: Partial<LabelTemplateInput>;
    withoutLabel?: boolean;
    mode?: 'flash-on-line' | 'ota-on-setup';
  } = {},
) => {
  const closers: (() => Promise<void> | void)[] = [];
  const printer = await startFakeZplPrinter();
  closers.push(() => printer.close());
  const cloud: MockCloud = await startMockCloud({
    host: '127.0.0.1',
    port: 0,
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13, releasedFirmware: 3 }],
  });
  closers.push(() => cloud.close());
  const dir = tempDir('ls-labels-line-');
  const setup = await writeDemoProduct(join(dir, 'product'), cloud.url, {
    slots: o.slots ?? 4,
    bodySize: 4096,
    ...(o.mode ? { mode: o.mode } : {}),
  });
  if (!setup.ok) throw new Error(setup.error.message);
  cloud.addToken(setup.value.token);
  const env = { [DEMO_TOKEN_ENV]: setup.value.token };
  if (!o.withoutLabel) await addLabel(setup.value.profilePath, labelTemplate(printer, o.label), env);
  const bus = new SimBus();
  closers.push(() => bus.dispose());
  const dataDir = join(dir, 'data');

  /** A healthy simulated Boron, its timing scaled down. */
  const device = (seed: string) => new SimDevice({ platform: 'boron', seed, timeScale: 0.002 });

  const open = async (lot: string, over: Partial<SessionOptions> = {}): Promise<Session> => {
    const opened = await openSession({
      profilePath: setup.value.profilePath,
      lot,
      operator: 'ana',
      station: 'line-1',
      dataDir,
      env,
      offline: false,
      acceptances: [],
      transport: bus,
      simulated: true,
      pollMs: 5,
      reenumerationTimeoutMs: 3000,
      retryDelayMs: 5,
      registerWaitMs: 0,
      // The printer is asked again within a fraction of a second once it is fixed.
      labelBackoff: { baseMs: 20, maxMs: 100 },
      ...over,
    });
    if (!opened.ok) throw new Error(`${opened.error.code}: ${opened.error.message}`);
    closers.push(() => opened.value.close());
    return opened.value;
  };

  return {
    dir,
    dataDir,
    printer,
    cloud,
    bus,
    env,
    profilePath: setup.value.profilePath,
    device,
    open,
    close: async () => {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
};

/** Resolves at the first station event matching `pred` from now on. */
export const nextEvent = <E extends StationEvent>(
  session: Session,
  pred: (e: StationEvent) => e is E,
): Promise<E> =>
  new Promise((resolve) => {
    const off = session.station.on((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });

/** Collects station events until `count` of them match `pred`. */
export const collect = <E extends StationEvent>(
  session: Session,
  pred: (e: StationEvent) => e is E,
  count: number,
): Promise<E[]> =>
  new Promise((resolve) => {
    const seen: E[] = [];
    const off = session.station.on((e) => {
      if (!pred(e)) return;
      seen.push(e);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });

export type LabelEvent = Extract<StationEvent, { type: 'label' }>;
export type FinishedEvent = Extract<StationEvent, { type: 'attempt-finished' }>;
export const isLabel =
  (change: LabelEvent['change']) =>
  (e: StationEvent): e is LabelEvent =>
    e.type === 'label' && e.change === change;
export const isFinished = (e: StationEvent): e is FinishedEvent => e.type === 'attempt-finished';

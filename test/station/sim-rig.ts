import { createRegistrar } from '../../core/cloud/register-step';
import { buildModule } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import { planSet } from '../../core/firmware/plan-set';
import type { FlashImage, InspectedFile, PlanTarget } from '../../core/firmware/types';
import { SimBus, SimDevice } from '../../core/sim/index';
import type { SimDeviceOptions, SimFaults } from '../../core/sim/types';
import { type ParticleDriverOptions, particleDriver } from '../../core/station/particle-driver';
import type { SlotDriver } from '../../core/station/pipeline';
import { Station, type StationEvent } from '../../core/station/station';
import type { UsbDeviceInfo } from '../../core/usb/transport';
import { newBatch, openLog, tempDir } from '../store/helpers';

export const PRODUCT_ID = 4242;
export const BORON = 13;

/** A small valid user part for the boron product, inspected as a locked profile's file is. */
export const userPartFile = (bodySize = 8192): InspectedFile => {
  const bytes = buildModule({
    platformId: BORON,
    function: 'user',
    bodySize,
    product: { id: PRODUCT_ID, version: 3 },
    dependencies: [{ function: 'system', index: 1, version: 6201 }],
  });
  return inspectBytes('app.bin', bytes);
};

export const PRODUCT: PlanTarget = {
  platformId: BORON,
  productId: PRODUCT_ID,
  mode: 'flash-on-line',
  deviceOsVersion: 6201,
};

/** The DFU images the station writes for `files` on a boron that says nothing about itself. */
export const dfuImages = (files: readonly InspectedFile[]): FlashImage[] => {
  const { errors, steps } = planSet(files, PRODUCT);
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  return steps.flatMap((s) => (s.path === 'dfu' ? [s.image] : []));
};

/** The user part's DFU plan (the images written). */
export const userPartPlan = (bodySize = 8192): FlashImage[] => dfuImages([userPartFile(bodySize)]);

/** The real driver on a simulated bus: the station exactly as the CLI wires it, minus the CLI. */
export const simRig = async (
  over: {
    slots?: number;
    timeScale?: number;
    retryOn?: string[];
    maxAttempts?: number;
    dir?: string;
    /** Lets a test observe the real driver of each attempt (e.g. when a step really finished). */
    wrapDriver?: (driver: SlotDriver, device: UsbDeviceInfo) => SlotDriver;
    /** The locked set's files (default: one user part). */
    files?: InspectedFile[];
    /** More driver options: identity requirements, the listening fallback, another registrar. */
    driver?: Partial<ParticleDriverOptions>;
    /** The platform the batch provisions (default boron). */
    platformId?: number;
  } = {},
) => {
  const dir = over.dir ?? tempDir('ls-sim-');
  const { log } = openLog(dir);
  const batch =
    log.batch('LOT-SIM') ?? log.createBatch(newBatch({ lot: 'LOT-SIM', product: String(PRODUCT_ID) }));
  const bus = new SimBus();
  const files = over.files ?? [userPartFile()];
  const plan = dfuImages(files);
  const driverFor = particleDriver({
    transport: bus,
    files,
    product: PRODUCT,
    skipWhenCurrent: false,
    setupDone: true,
    verify: true,
    pollMs: 5,
    // The simulator re-enumerates in milliseconds; an unplugged device is given up on quickly.
    reenumerationTimeoutMs: 1000,
    registrar: createRegistrar({ db: log.db, productId: PRODUCT_ID }),
    ...over.driver,
  });
  const wrap = over.wrapDriver;
  const station = new Station({
    log,
    batch,
    source: bus,
    driverFor: wrap ? (device) => wrap(driverFor(device), device) : driverFor,
    policy: {
      slotCount: over.slots ?? 4,
      labels: {},
      platformId: over.platformId ?? BORON,
      maxAttempts: over.maxAttempts ?? 2,
      retryOn: over.retryOn ?? ['USB_TIMEOUT', 'USB_IO', 'USB_STALL'],
      reflashAlreadyProvisioned: false,
    },
    retryDelayMs: 1,
    timeoutsMs: { 'ensure-dfu': 5_000, confirm: 5_000, leave: 5_000, flash: 20_000 },
  });
  const events: StationEvent[] = [];
  station.on((e) => events.push(e));
  await station.start();
  const device = (
    seed: number,
    faults: SimFaults = {},
    platform = 'boron',
    more: Partial<SimDeviceOptions> = {},
  ) => new SimDevice({ platform, seed, timeScale: over.timeScale ?? 0.001, faults, ...more });
  const next = (pred: (e: StationEvent) => boolean): Promise<StationEvent> =>
    new Promise((resolve) => {
      const seen = events.find(pred);
      if (seen) return resolve(seen);
      const off = station.on((e) => {
        if (pred(e)) {
          off();
          resolve(e);
        }
      });
    });
  return { dir, log, batch, bus, station, events, device, next, plan };
};

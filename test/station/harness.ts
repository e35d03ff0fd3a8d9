import { Station, type StationEvent, type StationPolicy } from '../../core/station/station';
import type { NewBatch } from '../../core/store/records';
import { newBatch, openLog, tempDir } from '../store/helpers';
import { FakeBus, FakeDriver } from './fakes';

export const policy = (over: Partial<StationPolicy> = {}): StationPolicy => ({
  slotCount: 4,
  labels: {},
  platformId: 13,
  maxAttempts: 2,
  retryOn: ['USB_TIMEOUT', 'USB_IO', 'USB_STALL', 'USB_DISCONNECTED'],
  reflashAlreadyProvisioned: false,
  ...over,
});

export const harness = async (
  over: {
    policy?: Partial<StationPolicy>;
    batch?: Partial<NewBatch>;
    timeoutsMs?: Record<string, number>;
    rescanIntervalMs?: number;
  } = {},
) => {
  const dir = tempDir('ls-station-');
  const { log } = openLog(dir);
  const batch = log.createBatch(newBatch(over.batch));
  const bus = new FakeBus();
  const driver = new FakeDriver();
  const station = new Station({
    log,
    batch,
    driverFor: driver.for,
    source: bus,
    policy: policy(over.policy),
    retryDelayMs: 1,
    progressIntervalMs: 250,
    timeoutsMs: over.timeoutsMs,
    rescanIntervalMs: over.rescanIntervalMs,
  });
  const events: StationEvent[] = [];
  station.on((e) => events.push(e));
  await station.start();
  /** Resolves at the first event matching `pred` (already seen or future). */
  const next = (pred: (e: StationEvent) => boolean): Promise<StationEvent> => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const off = station.on((e) => {
        if (pred(e)) {
          off();
          resolve(e);
        }
      });
    });
  };
  return { dir, log, batch, bus, driver, station, events, next };
};

export const finished = (e: StationEvent, slot?: number) =>
  e.type === 'attempt-finished' && (slot === undefined || e.slot === slot);

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppServiceOptions } from '../../core/app/context';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { inspectFile } from '../../core/firmware/inspect';
import { portPaths, SimBus, SimDevice } from '../../core/sim/index';
import type { SimDeviceOptions } from '../../core/sim/types';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../../core/station/demo-setup';

/**
 * A simulated line for app and UI tests: a locked demo product (8 slots) registering to the mock
 * Particle Cloud on 127.0.0.1, a SimBus, and device factories with or without faults. The
 * simulator's timing is scaled down so a batch of 8 takes seconds.
 */
export interface SimLine {
  readonly dir: string;
  readonly cloud: MockCloud;
  readonly bus: SimBus;
  readonly ports: readonly string[];
  readonly options: AppServiceOptions;
  readonly profilePath: string;
  /** A healthy boron for the demo product (options override timing, scale, faults). */
  device(seed: string, over?: Partial<SimDeviceOptions>): SimDevice;
  /** A bit flips after programming: readback verify fails (DFU_VERIFY_MISMATCH). */
  verifyFault(seed: string): SimDevice;
  /** An argon on a boron line (WRONG_PLATFORM). */
  wrongPlatform(seed: string): SimDevice;
  close(): Promise<void>;
}

export const TIME_SCALE = 0.02;

export const startSimLine = async (slots = 8): Promise<SimLine> => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-line-'));
  const cloud = await startMockCloud({
    host: '127.0.0.1',
    port: 0,
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13, releasedFirmware: 3 }],
  });
  const setup = await writeDemoProduct(join(dir, 'product'), cloud.url, { slots, bodySize: 16 * 1024 });
  if (!setup.ok) throw new Error(`${setup.error.code}: ${setup.error.message}`);
  cloud.addToken(setup.value.token);
  const fw = await inspectFile(setup.value.firmwarePath);
  const start = fw.module?.startAddress ?? 0;
  const bus = new SimBus();
  const device = (seed: string, over: Partial<SimDeviceOptions> = {}) =>
    new SimDevice({ platform: 'boron', seed, timeScale: TIME_SCALE, ...over });
  return {
    dir,
    cloud,
    bus,
    ports: portPaths(slots),
    profilePath: setup.value.profilePath,
    options: {
      profilePath: setup.value.profilePath,
      dataDir: join(dir, 'data'),
      env: { [DEMO_TOKEN_ENV]: setup.value.token },
      transport: bus,
      simulated: true,
      stationName: 'line-1',
      stationThrottleMs: 50,
      lineTuning: { pollMs: 5, reenumerationTimeoutMs: 1500, retryDelayMs: 5, registerWaitMs: 1000 },
    },
    device,
    verifyFault: (seed) =>
      device(seed, { faults: { flipBitAfterProgram: { address: start + 100, bit: 3 } } }),
    wrongPlatform: (seed) => device(seed, { platform: 'argon' }),
    close: async () => {
      bus.dispose();
      await cloud.close();
    },
  };
};

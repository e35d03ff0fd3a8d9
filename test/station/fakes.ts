import { LsFailure } from '../../core/errors/result';
import type { ModuleStep, PhaseContext, SetupDoneState } from '../../core/install/types';
import type { DeviceIdentity, RegisterResult, SlotDriver, StepContext } from '../../core/station/pipeline';
import type { DeviceSource } from '../../core/station/station';
import type { StepName } from '../../core/store/records';
import type { UsbDeviceInfo, UsbEvent } from '../../core/usb/transport';

/** A bus the test plugs devices into by hand. */
export class FakeBus implements DeviceSource {
  private readonly listeners = new Set<(e: UsbEvent) => void>();
  readonly attached = new Map<string, UsbDeviceInfo>();
  private seq = 0;

  async list(): Promise<UsbDeviceInfo[]> {
    return [...this.attached.values()];
  }

  watch(listener: (e: UsbEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Attaches without an event, like a platform whose hot-plug notifications are missing. */
  plugSilently(portPath: string, deviceId: string): UsbDeviceInfo {
    const device: UsbDeviceInfo = {
      key: `k${++this.seq}`,
      portPath,
      vendorId: 0x2b04,
      productId: 0xc00d,
      serialNumber: deviceId,
    };
    this.attached.set(portPath, device);
    return device;
  }

  plug(portPath: string, deviceId: string, productId = 0xc00d): UsbDeviceInfo {
    const device: UsbDeviceInfo = {
      key: `k${++this.seq}`,
      portPath,
      vendorId: 0x2b04,
      productId,
      serialNumber: deviceId.toUpperCase(),
    };
    this.attached.set(portPath, device);
    for (const l of this.listeners) l({ type: 'attach', device });
    return device;
  }

  unplug(portPath: string): void {
    const device = this.attached.get(portPath);
    if (!device) return;
    this.attached.delete(portPath);
    for (const l of this.listeners) l({ type: 'detach', device });
  }
}

export interface FakeBehaviour {
  platformId?: number;
  /** Fail the given step this many times with this code. */
  failAt?: { step: StepName; code: string; times: number };
  /** Never finish this step (ignores its signal too, like a wedged transfer). */
  hangAt?: StepName;
  comesBackAs?: string;
  stepDelayMs?: number;
  registration?: 'registered' | 'queued' | 'sim-failed';
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** A driver whose devices are scripted per device ID. Counts calls so tests can see what ran. */
export class FakeDriver {
  readonly behaviour = new Map<string, FakeBehaviour>();
  readonly calls: string[] = [];
  private readonly failures = new Map<string, number>();

  for = (device: UsbDeviceInfo): SlotDriver => {
    const id = (device.serialNumber ?? '').toLowerCase();
    const b = (): FakeBehaviour => this.behaviour.get(id) ?? {};
    const step = async (name: StepName, ctx: PhaseContext): Promise<void> => {
      this.calls.push(`${id}:${name}`);
      const beh = b();
      if (beh.hangAt === name) await new Promise(() => undefined);
      await sleep(beh.stepDelayMs ?? 1, ctx.signal);
      if (beh.failAt?.step === name) {
        const n = this.failures.get(id) ?? 0;
        if (n < beh.failAt.times) {
          this.failures.set(id, n + 1);
          throw new LsFailure({ code: beh.failAt.code, message: `scripted ${beh.failAt.code} at ${name}` });
        }
      }
    };
    const identity = (): DeviceIdentity => ({
      deviceId: id,
      platformId: b().platformId ?? 13,
      mode: 'normal',
      portPath: device.portPath,
    });
    return stepDriver({
      identify: async (ctx) => {
        await step('identify', ctx);
        return identity();
      },
      ensureDfu: (_i, ctx) => step('ensure-dfu', ctx),
      flash: async (_i, ctx) => {
        await step('flash', ctx);
        for (let done = 0; done <= 4096; done += 1024) ctx.onProgress({ bytesDone: done, bytesTotal: 4096 });
        return undefined;
      },
      leave: (_i, ctx) => step('leave', ctx),
      confirm: async (_i, ctx) => {
        await step('confirm', ctx);
        return { deviceId: b().comesBackAs ?? id, moduleVersions: [3100] };
      },
      register: async (_i, ctx) => {
        await step('register', ctx);
        const state = b().registration ?? 'registered';
        return state === 'sim-failed'
          ? { state, code: 'CLOUD_SIM_REJECTED', message: 'SIM 8988… cannot be imported: another account.' }
          : { state };
      },
    });
  };
}

/** A fake's install parts, one per phase, in the order the simplest set (DFU only, no extras) runs them. */
export interface StepParts {
  identify(ctx: StepContext): Promise<DeviceIdentity>;
  normalUpdate?(id: DeviceIdentity, ctx: PhaseContext): Promise<readonly ModuleStep[]>;
  ensureDfu(id: DeviceIdentity, ctx: PhaseContext): Promise<void>;
  flash(id: DeviceIdentity, ctx: PhaseContext): Promise<undefined | readonly ModuleStep[]>;
  leave(id: DeviceIdentity, ctx: PhaseContext): Promise<void>;
  confirm(
    id: DeviceIdentity,
    ctx: PhaseContext,
  ): Promise<{ deviceId: string; moduleVersions?: readonly number[] | undefined }>;
  setupDone?(id: DeviceIdentity, ctx: PhaseContext): Promise<SetupDoneState>;
  register(id: DeviceIdentity, ctx: StepContext): Promise<RegisterResult>;
}

/**
 * A SlotDriver from per-phase functions: install runs them through the pipeline's runner in a
 * fixed order (normal-mode modules, DFU entry, write, leave, confirm, setup done). The real order
 * for a whole set is core/install's, tested against the simulator.
 */
export const stepDriver = (parts: StepParts): SlotDriver => ({
  identify: (ctx) => parts.identify(ctx),
  register: (id, ctx) => parts.register(id, ctx),
  async install(id, runner) {
    const normal = parts.normalUpdate;
    if (normal) await runner.phase('normal-update', async (ctx) => ({ moduleSteps: await normal(id, ctx) }));
    await runner.phase('ensure-dfu', async (ctx) => {
      await parts.ensureDfu(id, ctx);
      return {};
    });
    await runner.phase('flash', async (ctx) => ({ moduleSteps: (await parts.flash(id, ctx)) ?? undefined }));
    await runner.phase('leave', async (ctx) => {
      await parts.leave(id, ctx);
      return {};
    });
    await runner.phase('confirm', (ctx) => parts.confirm(id, ctx));
    const setUp = parts.setupDone;
    if (setUp) await runner.phase('setup-done', async (ctx) => ({ setupDone: await setUp(id, ctx) }));
  },
});

export const deviceId = (n: number): string => `e00fce68${n.toString(16).padStart(16, '0')}`;

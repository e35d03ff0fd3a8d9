import { LsFailure } from '../../core/errors/result';
import type { DeviceIdentity, SlotDriver, StepContext } from '../../core/station/pipeline';
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
  registration?: 'registered' | 'queued';
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
    const step = async (name: StepName, ctx: StepContext): Promise<void> => {
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
    return {
      identify: async (ctx) => {
        await step('identify', ctx);
        return identity();
      },
      ensureDfu: (_i, ctx) => step('ensure-dfu', ctx),
      flash: async (_i, ctx) => {
        await step('flash', ctx);
        for (let done = 0; done <= 4096; done += 1024) ctx.onProgress({ bytesDone: done, bytesTotal: 4096 });
      },
      leave: (_i, ctx) => step('leave', ctx),
      confirm: async (_i, ctx) => {
        await step('confirm', ctx);
        return { deviceId: b().comesBackAs ?? id, moduleVersions: [3100] };
      },
      register: async (_i, ctx) => {
        await step('register', ctx);
        return { state: b().registration ?? 'registered' };
      },
    };
  };
}

export const deviceId = (n: number): string => `e00fce68${n.toString(16).padStart(16, '0')}`;

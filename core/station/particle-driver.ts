import type { DatabaseSync } from 'node:sqlite';
import { type LsError, LsFailure } from '../errors/result';
import type { InspectedFile, PlanTarget } from '../firmware/types';
import { type DeviceState, readDeviceState } from '../install/device-state';
import { type InstallOptions, installSet } from '../install/install-set';
import { planForDevice } from '../install/plan-for-device';
import { platformById } from '../platforms/lookup';
import { enqueueRegistration, registrationState } from '../store/outbox';
import { sleep } from '../time/sleep';
import { identifyDevice, recognise } from '../usb/identity';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import type { DeviceIdentity, SlotDriver, StepContext } from './pipeline';

/**
 * Registers a device for the product. The durable outbox is the source of truth: the device is
 * enqueued (committed) first, then the background drain imports it. `waitMs` gives the drain a
 * moment so an online line usually reports "registered"; otherwise the PASS says "queued".
 */
export interface Registrar {
  register(deviceId: string, signal: AbortSignal): Promise<{ state: 'registered' | 'queued' }>;
}

export interface OutboxRegistrarOptions {
  readonly db: DatabaseSync;
  readonly productId: number;
  readonly development?: boolean | undefined;
  readonly groups?: readonly string[] | undefined;
  /** How long to wait for the drain's acknowledgment before reporting "queued" (0 = never wait). */
  readonly waitMs?: number;
  readonly pollMs?: number;
}

export const outboxRegistrar = (o: OutboxRegistrarOptions): Registrar => ({
  async register(deviceId, signal) {
    enqueueRegistration(o.db, {
      productId: o.productId,
      deviceId,
      development: o.development,
      groups: o.groups,
    });
    const until = performance.now() + (o.waitMs ?? 0);
    for (;;) {
      const s = registrationState(o.db, o.productId, deviceId);
      if (s.state === 'registered') return { state: 'registered' };
      // A permanent rejection (invalid, non-member, protected ID) is a FAIL the operator must see.
      if (s.state === 'failed') throw new LsFailure({ code: s.code, message: s.message });
      if (s.state === 'blocked' || performance.now() >= until || signal.aborted) return { state: 'queued' };
      await sleep(o.pollMs ?? 25, signal);
    }
  },
});

export interface ParticleDriverOptions {
  readonly transport: UsbTransport;
  /** The locked set's files (inspected), planned per device at identify (what it runs, its mode). */
  readonly files: readonly InspectedFile[];
  /** The product the set is for (platform, product ID, mode, Device OS, protection). */
  readonly product: PlanTarget;
  readonly verify: boolean;
  /** Skip a module the device already runs at the same version and hash (still verified). */
  readonly skipWhenCurrent: boolean;
  /** Gen 3 on Device OS < 4.0: mark the device set up after the install (always, on a line). */
  readonly setupDone: boolean;
  /** The cloud side of Service Mode, for products that declare Device Protection. */
  readonly serviceMode?: InstallOptions['serviceMode'];
  readonly registrar: Registrar;
  /** Re-enumeration poll interval (tests with a fast simulator use a small one). */
  readonly pollMs?: number | undefined;
  /** How long a device may take to re-enumerate (DFU entry, back after leave). Default 30 s. */
  readonly reenumerationTimeoutMs?: number | undefined;
}

const failWith = (e: LsError): never => {
  throw new LsFailure(e);
};

/**
 * The real slot driver: core/usb identity and what the device runs, then the set installed by
 * core/install (the same operation `linestation flash` runs), then the registration outbox. One
 * driver per attempt; it follows the device through its re-enumerations on the same port path.
 */
export const particleDriver =
  (o: ParticleDriverOptions) =>
  (device: UsbDeviceInfo): SlotDriver => {
    let current = device;
    let state: DeviceState = { notes: [] };
    return {
      async identify(step: StepContext): Promise<DeviceIdentity> {
        const r = recognise(current);
        if (r.kind !== 'particle')
          return failWith({
            code: 'NOT_PARTICLE',
            message: `The device on ${current.portPath} is not a Particle device.`,
          });
        const id = await identifyDevice(o.transport, current, r.platform, r.dfu, { signal: step.signal });
        if (!id.deviceId)
          return failWith({
            code: 'DEVICE_ID_INVALID',
            message: `The device on ${current.portPath} did not report a valid device ID.`,
          });
        if (o.product.mode === 'flash-on-line' && r.platform.id === o.product.platformId) {
          state = await readDeviceState(o.transport, current, r.dfu, step.signal);
          // Before anything is written: a protected device on a product that does not declare
          // Device Protection would refuse every write, and flashing it open would be wrong anyway.
          if ((state.protection === 'protected' || state.protection === 'service') && !o.serviceMode)
            return failWith({
              code: 'DEVICE_PROTECTED',
              message: `Device ${id.deviceId} has Device Protection on, and this product's profile does not declare it.`,
              remedy:
                'Set the device aside and call an engineer: the profile must declare deviceProtection for protected devices.',
            });
        }
        return {
          deviceId: id.deviceId,
          platformId: r.platform.id,
          mode: r.dfu ? 'dfu' : id.mode === 'listening' ? 'listening' : 'normal',
          portPath: current.portPath,
          ...(state.protection ? { protection: state.protection } : {}),
          ...(state.systemVersion !== undefined ? { systemVersion: state.systemVersion } : {}),
          notes: state.notes,
        };
      },
      async install(id, runner) {
        const platform = platformById(id.platformId);
        if (!platform)
          return failWith({ code: 'WRONG_PLATFORM', message: `Unknown platform ${id.platformId}.` });
        // Planned for this device: what it already runs (dependencies, skipWhenCurrent) and
        // whether it is in DFU mode (Particle's repair order).
        const { plan } = planForDevice(o.files, o.product, {
          inDfu: id.mode === 'dfu',
          state,
          skipWhenCurrent: o.skipWhenCurrent,
        });
        const report = await installSet(
          {
            transport: o.transport,
            device: current,
            deviceId: id.deviceId,
            platform,
            protection: state.protection,
            systemVersion: state.systemVersion,
          },
          plan,
          {
            verify: o.verify,
            setupDone: o.setupDone,
            serviceMode: o.serviceMode,
            pollMs: o.pollMs,
            reenumerationTimeoutMs: o.reenumerationTimeoutMs,
            normalRetryDelayMs: o.pollMs,
          },
          runner,
        );
        current = report.device;
      },
      register: (id, step) => o.registrar.register(id.deviceId, step.signal),
    };
  };

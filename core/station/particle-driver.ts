import type { DatabaseSync } from 'node:sqlite';
import { flashDevice } from '../dfu/flash';
import { DfuSession } from '../dfu/session';
import { type LsError, LsFailure } from '../errors/result';
import type { FlashImage } from '../firmware/types';
import { confirmBackInNormalMode, enterDfuMode, type ModeSwitchContext } from '../particle/mode-switch';
import type { DeviceModule } from '../particle/requests';
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
  /** The validated plan of the locked firmware set, in flash order. */
  readonly plan: readonly FlashImage[];
  readonly verify: boolean;
  readonly registrar: Registrar;
  readonly modeSwitch?: Omit<ModeSwitchContext, 'transport'>;
  /** Re-enumeration poll interval (tests with a fast simulator use a small one). */
  readonly pollMs?: number;
  /** How long a device may take to re-enumerate (DFU entry, back after leave). Default 30 s. */
  readonly reenumerationTimeoutMs?: number;
}

const failWith = (e: LsError): never => {
  throw new LsFailure(e);
};

/** Plan modules whose version the device should report after the write (function/index/version). */
const expectedModules = (plan: readonly FlashImage[]) =>
  plan.flatMap((i) =>
    i.module && typeof i.module.function === 'string'
      ? [{ function: i.module.function, index: i.module.index, version: i.module.version }]
      : [],
  );

const checkModules = (plan: readonly FlashImage[], reported: readonly DeviceModule[]): void => {
  for (const want of expectedModules(plan)) {
    const got = reported.find((m) => m.function === want.function && m.index === want.index);
    // The device runs its own checks on every module at boot (integrity, dependencies, platform).
    // A module that fails them is not run (a user part that fails boots safe mode, breathing
    // magenta): readback proved the bytes, this proves the device accepted them.
    if (got && !got.valid)
      failWith({
        code: 'MODULE_INVALID',
        message: `The device rejected the ${want.function} part ${want.index} that was written (version ${got.version}): it failed the device's own integrity or dependency check.`,
        remedy:
          'Check that the device runs the Device OS the firmware needs (linestation inspect FILE); call an engineer if it persists.',
      });
    if (got && got.version !== want.version)
      failWith({
        code: 'MODULE_VERSION_MISMATCH',
        message: `The device reports ${want.function} part ${want.index} at version ${got.version}; ${want.version} was written.`,
      });
  }
};

/**
 * The real slot driver: core/usb identity, core/particle mode switching, core/dfu writing with
 * readback verify, and the registration outbox. One driver per attempt; it follows the device
 * through its re-enumerations on the same port path.
 */
export const particleDriver =
  (o: ParticleDriverOptions) =>
  (device: UsbDeviceInfo): SlotDriver => {
    let current = device;
    let dfuKey: string | undefined;
    const ctx: ModeSwitchContext = { transport: o.transport, ...o.modeSwitch };
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
        return {
          deviceId: id.deviceId,
          platformId: r.platform.id,
          mode: r.dfu ? 'dfu' : id.mode === 'listening' ? 'listening' : 'normal',
          portPath: current.portPath,
        };
      },
      async ensureDfu(_id, step) {
        const entered = await enterDfuMode(ctx, current, {
          signal: step.signal,
          pollMs: o.pollMs,
          timeoutMs: o.reenumerationTimeoutMs,
        });
        if (!entered.ok) failWith(entered.error);
        else {
          current = entered.value.device;
          dfuKey = current.key;
        }
      },
      async flash(_id, step) {
        const result = await flashDevice({ transport: o.transport, device: current }, o.plan, {
          verify: o.verify,
          leave: false,
          signal: step.signal,
          onProgress: (p) => step.onProgress(p),
        });
        if (!result.ok) failWith(result.error);
        else if (o.verify && !result.value.verified)
          failWith({
            code: 'DFU_VERIFY_MISMATCH',
            message: 'The write finished but was not verified by readback.',
          });
      },
      async leave(_id, step) {
        const handle = await o.transport.open(current, { signal: step.signal });
        const session = await DfuSession.open(handle, { signal: step.signal }).catch(async (e: unknown) => {
          await handle.close().catch(() => undefined);
          throw e;
        });
        try {
          await session.leave({ signal: step.signal });
        } finally {
          await session.close();
        }
      },
      async confirm(id, step) {
        const back = await confirmBackInNormalMode(
          { transport: o.transport },
          { portPath: id.portPath, deviceId: id.deviceId, dfuKey },
          { signal: step.signal, readModules: true, pollMs: o.pollMs, timeoutMs: o.reenumerationTimeoutMs },
        );
        if (!back.ok) return failWith(back.error);
        current = back.value.device;
        // Module versions are optional (old Device OS), but a device that vanished while we asked
        // was not confirmed: PASS needs it still there, in normal mode, at the end of confirm.
        if (back.value.modulesError) {
          const key = current.key;
          const present = await o.transport.list().then(
            (l) => l.some((d) => d.key === key),
            () => false,
          );
          if (!present)
            failWith({
              code: 'DEVICE_UNPLUGGED',
              message: `The device on ${id.portPath} was unplugged while it was being confirmed.`,
            });
        }
        const modules = back.value.modules;
        if (modules) checkModules(o.plan, modules);
        return {
          deviceId: (current.serialNumber ?? id.deviceId).toLowerCase(),
          moduleVersions: modules?.map((m) => m.version),
        };
      },
      register: (id, step) => o.registrar.register(id.deviceId, step.signal),
    };
  };

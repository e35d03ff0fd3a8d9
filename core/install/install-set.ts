import { flashDevice } from '../dfu/flash';
import { DfuSession } from '../dfu/session';
import type { WriteReport } from '../dfu/write-images';
import { type LsError, LsFailure } from '../errors/result';
import type { DfuPlanStep, NormalPlanStep, PlanStep, SetPlan } from '../firmware/types';
import {
  confirmBackInNormalMode,
  enterDfuMode,
  enterServiceMode,
  leaveServiceMode,
  normalModeImage,
  type ServiceModeCloud,
  updateModuleNormalMode,
} from '../particle';
import type { DeviceModule } from '../particle/requests';
import type { Platform } from '../platforms';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import { checkInstalledModules } from './check-modules';
import { markSetupDone } from './setup-done';
import type { InstallRunner, ModuleStep, SetupDoneState } from './types';

/*
 * Installing a whole firmware set on one device, in the plan's order (Particle's: normal-mode
 * modules, then DFU modules, then assets; DFU first for a device found in DFU mode). The station
 * pipeline and `linestation flash` both call this, with their own runner for the phases: the
 * station times and logs each as a step, the CLI prints it. Nothing here knows of batches.
 */

export interface InstallTarget {
  readonly transport: UsbTransport;
  /** The device as found (normal, listening or DFU mode). */
  readonly device: UsbDeviceInfo;
  /** 24 lower-case hex characters. */
  readonly deviceId: string;
  readonly platform: Platform;
  /** Device Protection as read at identify: a protected device is put in Service Mode first. */
  readonly protection?: 'open' | 'protected' | 'service' | undefined;
  /** The Device OS version (module version of the system part) the device ran at identify. */
  readonly systemVersion?: number | undefined;
}

export interface InstallOptions {
  /** Read every DFU image back (PASS means verified: the station never turns this off). */
  readonly verify: boolean;
  /** Mark the device as set up where Device OS needs it (Gen 3 before 4.0). */
  readonly setupDone: boolean;
  /** The cloud side of Service Mode, for a protected device (the product declares Device Protection). */
  readonly serviceMode?: { readonly cloud: ServiceModeCloud; readonly productId: number } | undefined;
  /** Re-enumeration poll interval and limit (a scaled-down simulator wants short ones). */
  readonly pollMs?: number | undefined;
  readonly reenumerationTimeoutMs?: number | undefined;
  /** Per-module normal-mode update retries and their pause (transient errors only). */
  readonly normalRetryDelayMs?: number | undefined;
  /**
   * Wait for the device to come back in normal mode after the last DFU write and check what it
   * runs (default true). Off only for an engineer's `flash --no-confirm`: the result is then
   * verified by readback alone, and setup done is not marked.
   */
  readonly confirmReturn?: boolean | undefined;
}

export interface InstallReport {
  readonly deviceId: string;
  readonly moduleSteps: readonly ModuleStep[];
  readonly setupDone: SetupDoneState | undefined;
  /** The module versions the device reported at the end, when it reported them. */
  readonly moduleVersions: readonly number[] | undefined;
  /** The device as it is on the bus at the end (normal mode). */
  readonly device: UsbDeviceInfo;
  /** The DFU engine's report of the last DFU phase (timings per image), when one ran. */
  readonly dfu: WriteReport | undefined;
  /** How long the device took to come back after leaving DFU, when it did. */
  readonly reenumerationMs: number | undefined;
}

const failWith = (e: LsError): never => {
  throw new LsFailure(e);
};

/**
 * The file name, not the path it was read from: the log and the export name a module as the
 * profile's folder holds it (`bootloader.bin`), the same on every station.
 */
const fileName = (label: string): string => label.split(/[\\/]/).pop() || label;

const stepName = (s: PlanStep): string => fileName(s.image.label ?? `${s.kind} module`);

/** Consecutive steps that share a path run as one phase (one mode switch each way). */
const groups = (steps: readonly PlanStep[]): PlanStep[][] => {
  const out: PlanStep[][] = [];
  for (const s of steps) {
    const last = out.at(-1);
    if (last && last[0]?.path === s.path) last.push(s);
    else out.push([s]);
  }
  return out;
};

const skippedStep = (s: PlanStep): ModuleStep => ({
  name: stepName(s),
  path: s.path,
  outcome: s.skip === 'asset-present' ? 'skipped' : 'current',
  ms: 0,
});

/**
 * Installs `plan` (already checked: `plan.errors` must be empty) on one device. Throws LsFailure
 * with a named code at the first failure; the runner decides what a failure means for the slot.
 */
export const installSet = async (
  target: InstallTarget,
  plan: SetPlan,
  options: InstallOptions,
  runner: InstallRunner,
): Promise<InstallReport> => {
  const first = plan.errors[0];
  if (first) return failWith(first);
  const { transport } = target;
  let current = target.device;
  let inDfu = current.productId === target.platform.usb.dfuProductId;
  let dfuKey: string | undefined = inDfu ? current.key : undefined;
  const moduleSteps: ModuleStep[] = [];
  let lastModules: readonly DeviceModule[] | undefined;
  let serviceMode = false;
  /** The device is out of its protection (entered here, or found so) and must be locked before it leaves. */
  let unlocked = target.protection === 'service';
  let dfuReport: WriteReport | undefined;
  let reenumerationMs: number | undefined;
  const confirmReturn = options.confirmReturn !== false;
  /**
   * Modules skipped as current where no phase of their own ran: the runner hears of them with the
   * next phase (the station logs module steps per phase), so its log lists every module.
   */
  const untold: ModuleStep[] = [];
  const phase: InstallRunner['phase'] = (name, fn) =>
    runner.phase(name, async (ctx) => {
      const r = await fn(ctx);
      const carried = untold.splice(0);
      return carried.length === 0 ? r : { ...r, moduleSteps: [...carried, ...(r.moduleSteps ?? [])] };
    });
  /** Skipped modules of a group in which nothing was written. */
  const skippedOnly = (steps: readonly PlanStep[]) => {
    const skipped = steps.filter((s) => s.skip).map(skippedStep);
    moduleSteps.push(...skipped);
    untold.push(...skipped);
  };

  const waitOptions = {
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.reenumerationTimeoutMs !== undefined ? { timeoutMs: options.reenumerationTimeoutMs } : {}),
  };

  /**
   * Module versions are optional (old Device OS), but a device that vanished while we asked was
   * not confirmed: PASS needs it still there, in normal mode, at the end of confirm.
   */
  const stillThere = async (device: UsbDeviceInfo, deviceId: string) => {
    const present = await transport.list().then(
      (l) => l.some((d) => d.key === device.key),
      () => false,
    );
    if (!present)
      failWith({
        code: 'DEVICE_UNPLUGGED',
        message: `Device ${deviceId} on ${device.portPath} was unplugged while it was being confirmed.`,
      });
  };

  /**
   * Lifts Device Protection before the first write; a protected device refuses every write
   * otherwise. A device found already in Service Mode goes through it again: that gives it a fresh
   * window for the install's resets, and marks it to be locked at the end, so it never leaves the
   * line in the Service Mode someone else left it in.
   */
  const ensureServiceMode = async () => {
    if (serviceMode || (target.protection !== 'protected' && target.protection !== 'service')) return;
    // Service Mode is asked for in normal mode: a protected device found in DFU leaves it first.
    if (inDfu) await leaveDfu();
    const sm = options.serviceMode;
    if (!sm)
      failWith({
        code: 'DEVICE_PROTECTED',
        message: `Device ${target.deviceId} has Device Protection on, and this product's profile does not declare it.`,
        remedy: 'Set the device aside and call an engineer: the profile must declare deviceProtection.',
      });
    else
      await phase('service-mode', async (ctx) => {
        const r = await enterServiceMode(transport, current, sm.cloud, {
          productId: sm.productId,
          signal: ctx.signal,
        });
        if (!r.ok) return failWith(r.error);
        serviceMode = true;
        unlocked = true;
        return {};
      });
  };

  const leaveDfu = async (confirm = true) => {
    await phase('leave', async (ctx) => {
      const handle = await transport.open(current, { signal: ctx.signal });
      const session = await DfuSession.open(handle, { signal: ctx.signal }).catch(async (e: unknown) => {
        await handle.close().catch(() => undefined);
        throw e;
      });
      try {
        await session.leave({ signal: ctx.signal });
      } finally {
        await session.close();
      }
      return {};
    });
    if (!confirm) return;
    const back = await phase('confirm', async (ctx) => {
      const r = await confirmBackInNormalMode(
        { transport },
        { portPath: current.portPath, deviceId: target.deviceId, ...(dfuKey ? { dfuKey } : {}) },
        { signal: ctx.signal, readModules: true, ...waitOptions },
      );
      if (!r.ok) return failWith(r.error);
      current = r.value.device;
      inDfu = false;
      reenumerationMs = r.value.elapsedMs;
      if (r.value.modulesError) await stillThere(current, target.deviceId);
      if (r.value.modules) lastModules = r.value.modules;
      const id = (current.serialNumber ?? target.deviceId).toLowerCase();
      return { deviceId: id, moduleVersions: r.value.modules?.map((m) => m.version) };
    });
    if (back.deviceId && back.deviceId !== target.deviceId)
      failWith({
        code: 'DEVICE_ID_CHANGED',
        message: `Device ${back.deviceId} came back on ${current.portPath} instead of ${target.deviceId}.`,
      });
  };

  const runNormal = async (steps: readonly PlanStep[]) => {
    if (inDfu) await leaveDfu();
    const todo = steps.filter((s): s is NormalPlanStep => s.path === 'normal' && !s.skip);
    if (todo.length === 0) return skippedOnly(steps);
    await ensureServiceMode();
    // In the plan's order, skipped modules included.
    const done: ModuleStep[] = [];
    await phase('normal-update', async (ctx) => {
      for (const step of steps) {
        if (step.skip || step.path !== 'normal') {
          done.push(skippedStep(step));
          continue;
        }
        const name = stepName(step);
        const image = normalModeImage(step.image.data, step.image.module, name);
        const t0 = performance.now();
        const u = await updateModuleNormalMode(transport, current, image, {
          signal: ctx.signal,
          ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
          ...(options.reenumerationTimeoutMs !== undefined
            ? { rebootTimeoutMs: options.reenumerationTimeoutMs }
            : {}),
          ...(options.normalRetryDelayMs !== undefined ? { retryDelayMs: options.normalRetryDelayMs } : {}),
          onProgress: (p) =>
            ctx.onProgress({
              phase: `${name} (normal mode): ${p.phase}`,
              module: name,
              path: 'normal',
              bytesDone: p.bytesDone,
              bytesTotal: p.bytesTotal,
              bytesPerSecond: p.bytesPerSecond,
              etaMs: p.etaMs,
              expectedMs: p.expectedMs,
            }),
        });
        if (!u.ok) return failWith({ ...u.error, details: { ...u.error.details, module: name } });
        current = u.value.device;
        done.push({ name, path: 'normal', outcome: 'written', ms: Math.round(performance.now() - t0) });
      }
      return { moduleSteps: done };
    });
    moduleSteps.push(...done);
    // What the device listed before these modules is stale now: the end reads it again.
    lastModules = undefined;
  };

  const runDfu = async (steps: readonly PlanStep[]) => {
    const todo = steps.filter((s): s is DfuPlanStep => s.path === 'dfu' && !s.skip);
    if (todo.length === 0) return skippedOnly(steps);
    await ensureServiceMode();
    if (!inDfu)
      await phase('ensure-dfu', async (ctx) => {
        const entered = await enterDfuMode({ transport }, current, { signal: ctx.signal, ...waitOptions });
        if (!entered.ok) return failWith(entered.error);
        current = entered.value.device;
        dfuKey = current.key;
        inDfu = true;
        return {};
      });
    const done: ModuleStep[] = [];
    await phase('flash', async (ctx) => {
      const result = await flashDevice(
        { transport, device: current },
        todo.map((s) => s.image),
        {
          verify: options.verify,
          leave: false,
          signal: ctx.signal,
          onProgress: (p) =>
            ctx.onProgress({
              phase: `${p.label ? fileName(p.label) : 'image'} (DFU): ${p.phase}`,
              ...(p.label ? { module: fileName(p.label) } : {}),
              path: 'dfu',
              bytesDone: p.bytesDone,
              bytesTotal: p.bytesTotal,
              bytesPerSecond: p.bytesPerSecond,
              etaMs: p.etaMs,
            }),
        },
      );
      if (!result.ok) return failWith(result.error);
      dfuReport = result.value;
      if (options.verify && !result.value.verified)
        return failWith({
          code: 'DFU_VERIFY_MISMATCH',
          message: 'The write finished but was not verified by readback.',
        });
      // The images come back in the order they were given (todo's): put them in the plan's order.
      const written = result.value.images.map(
        (i): ModuleStep => ({
          name: fileName(i.label),
          path: 'dfu',
          outcome: 'written',
          ms: Math.round(i.eraseMs + i.downloadMs + i.verifyMs),
        }),
      );
      done.push(...steps.flatMap((s) => (s.skip ? [skippedStep(s)] : written.splice(0, 1))));
      return { moduleSteps: done };
    });
    moduleSteps.push(...done);
  };

  try {
    for (const group of groups(plan.steps)) {
      if (group[0]?.path === 'dfu') await runDfu(group);
      else await runNormal(group);
    }
    // Back in normal mode whatever the plan ended with: PASS needs the device running its firmware.
    if (inDfu) await leaveDfu(confirmReturn);
    else if (!lastModules && confirmReturn) {
      // Nothing went over DFU: still prove what the device now runs (skipped modules included).
      await phase('confirm', async (ctx) => {
        const c = await confirmBackInNormalMode(
          { transport },
          { portPath: current.portPath, deviceId: target.deviceId },
          { signal: ctx.signal, readModules: true, ...waitOptions },
        );
        if (!c.ok) return failWith(c.error);
        current = c.value.device;
        if (c.value.modulesError) await stillThere(current, target.deviceId);
        if (c.value.modules) lastModules = c.value.modules;
        return { deviceId: target.deviceId, moduleVersions: c.value.modules?.map((m) => m.version) };
      });
    }
    if (lastModules) checkInstalledModules(plan, lastModules);
    // Also when nothing was written (every module current): a device found in Service Mode is locked.
    if (unlocked)
      await phase('service-mode', async (ctx) => {
        const r = await leaveServiceMode(transport, current, { signal: ctx.signal });
        if (!r.ok) return failWith(r.error);
        unlocked = false;
        return {};
      });
    let setupDone: SetupDoneState | undefined;
    if (options.setupDone && confirmReturn) {
      const r = await phase('setup-done', async (ctx) => {
        const m = await markSetupDone(
          transport,
          current,
          target.platform,
          systemVersionOf(lastModules, target),
          {
            signal: ctx.signal,
            ...waitOptions,
          },
        );
        current = m.device;
        return { setupDone: m.setupDone };
      });
      setupDone = r.setupDone;
    }
    return {
      deviceId: target.deviceId,
      moduleSteps,
      setupDone,
      moduleVersions: lastModules?.map((m) => m.version),
      device: current,
      dfu: dfuReport,
      reenumerationMs,
    };
  } finally {
    // A failed install must not leave a protected device open for the rest of its Service Mode
    // window: best effort, since the device may be gone (unplugged) or in DFU mode.
    if (unlocked) await leaveServiceMode(transport, current, {}).catch(() => undefined);
  }
};

/** Device OS the device runs now: its system part's module version (Device OS 4.0.0 = 4000). */
const systemVersionOf = (
  modules: readonly DeviceModule[] | undefined,
  target: InstallTarget,
): number | undefined => {
  const system = (modules ?? []).filter((m) => m.function === 'system').map((m) => m.version);
  return system.length > 0 ? Math.max(...system) : target.systemVersion;
};

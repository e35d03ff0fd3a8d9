import type { LsError } from '../errors/result';
import { LsFailure, toLsError } from '../errors/result';
import type { InstallRunner } from '../install/types';
import { platformById } from '../platforms/lookup';
import {
  type AttemptRecord,
  type BatchRecord,
  type IdentityGap,
  type ProvisioningMode,
  type RegistrationState,
  STEPS,
  type StepName,
} from '../store/records';
import type { StationLog } from '../store/station-log';
import type { UsbDeviceInfo } from '../usb/transport';
import type { SlotLabel } from './labels';
import { describeFailure } from './operator-errors';

/** What identify learns about the device on a slot. */
export interface DeviceIdentity {
  /** 24 lower-case hex characters. */
  readonly deviceId: string;
  readonly platformId: number;
  readonly mode: 'normal' | 'dfu' | 'listening';
  readonly portPath: string;
  /** Product ID the device reports (from its firmware), when it reports one. */
  readonly productId?: number | undefined;
  /** Device Protection as the device reports it (normal mode: request 76; DFU: string 0xFA). */
  readonly protection?: 'open' | 'protected' | 'service' | undefined;
  /** The system part's version it runs (Device OS 4.0.0 = 4000), when it says. */
  readonly systemVersion?: number | undefined;
  /** What could not be read at identify and why (kept in the log; not failures). */
  readonly notes?: readonly string[] | undefined;
  /** The sticker serial number (GET_SERIAL_NUMBER, or the listening-mode listing). */
  readonly serialNumber?: string | undefined;
  /** Cellular platforms: the SIM's ICCID and the modem's IMEI. */
  readonly iccid?: string | undefined;
  readonly imei?: string | undefined;
  /** The Device OS it reported ('6.2.1', or the system module version '6201'). */
  readonly deviceOs?: string | undefined;
  /** Identity fields that could not be read, each with why (logged as an event; columns stay empty). */
  readonly identityMissing?: readonly IdentityGap[] | undefined;
  /**
   * Found in DFU mode, where nothing of the identity can be read: the driver reads it once the
   * install has the device back in normal mode (SlotDriver.identifyAfterInstall).
   */
  readonly identityPending?: boolean | undefined;
}

/** What identify reads besides the device ID, when it is read after the install. */
export type IdentityRead = Pick<
  DeviceIdentity,
  'serialNumber' | 'iccid' | 'imei' | 'deviceOs' | 'identityMissing'
>;

/** A part of the cloud setup left out for this device (a name template it could not fill), and why. */
export interface SkippedSetupNote {
  readonly field: string;
  readonly code: string;
  readonly reason: string;
}

/**
 * What the register step reports. `sim-failed`: the device is in the product, but the cloud
 * refused its SIM (code and message say why); the attempt still PASSes (docs/station.md).
 */
export type RegisterResult =
  | { readonly state: 'registered' | 'queued'; readonly skipped?: readonly SkippedSetupNote[] | undefined }
  | {
      readonly state: 'sim-failed';
      readonly code: string;
      readonly message: string;
      readonly skipped?: readonly SkippedSetupNote[] | undefined;
    };

export interface StepProgress {
  /** For people: `bootloader.bin (normal mode): sending`. */
  readonly phase?: string | undefined;
  /** The module being installed and its path (an install step writes several). */
  readonly module?: string | undefined;
  readonly path?: 'normal' | 'dfu' | undefined;
  /** What this part usually takes (an NCP update takes minutes), so a UI never looks hung. */
  readonly expectedMs?: number | undefined;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond?: number | undefined;
  readonly etaMs?: number | undefined;
}

export interface StepContext {
  /** Aborted on station stop, on the step's timeout, or when the slot is abandoned. */
  readonly signal: AbortSignal;
  readonly onProgress: (p: StepProgress) => void;
  /** The USB device as enumerated when the attempt started. */
  readonly device: UsbDeviceInfo;
}

/**
 * The seam between the pipeline and the protocol code. The real driver identifies through
 * core/usb + core/particle and installs through core/install (the same operation
 * `linestation flash` runs); tests use fakes. Methods fail by throwing LsFailure with a code
 * (USB_DISCONNECTED, DFU_VERIFY_MISMATCH, ...).
 */
export interface SlotDriver {
  identify(ctx: StepContext): Promise<DeviceIdentity>;
  /**
   * Installs the locked firmware set (flash-on-line only), running each part through `runner`,
   * which logs it as a step with its own timeout: service mode, normal-mode modules, DFU entry,
   * DFU writes with readback, leave, confirm, setup done, in the order the set needs.
   */
  install(id: DeviceIdentity, runner: InstallRunner): Promise<void>;
  /**
   * Reads the identity of a device identify found in DFU mode (`identityPending`), now that the
   * install has it back in normal mode. Fails like identify when the profile requires a field that
   * cannot be read (DEVICE_SERIAL_UNREADABLE, DEVICE_ICCID_UNREADABLE).
   */
  identifyAfterInstall?(id: DeviceIdentity, ctx: StepContext): Promise<IdentityRead>;
  /** Registers to the product (or queues in the outbox when offline or the cloud is down). */
  register(id: DeviceIdentity, ctx: StepContext): Promise<RegisterResult>;
}

export const STEP_TIMEOUTS_MS: Readonly<Record<StepName, number>> = {
  // The ICCID request powers the modem up first: up to 60 s on its own (particle-usb's figure).
  identify: 90_000,
  // Two cloud round trips and two device requests; the cloud may be slow to answer.
  'service-mode': 60_000,
  // A bootloader, an NCP image (minutes on its own: particle-cli allows 240 s) and assets, each
  // with a reset and a re-enumeration.
  'normal-update': 900_000,
  'ensure-dfu': 60_000,
  flash: 600_000,
  leave: 30_000,
  confirm: 90_000,
  'setup-done': 30_000,
  register: 60_000,
};

export const STEPS_FOR_MODE: Readonly<Record<ProvisioningMode, readonly StepName[]>> = {
  // Every step, in the order STEPS holds them (each a duration column of the log).
  'flash-on-line': STEPS,
  'ota-on-setup': ['identify', 'register'],
};

export type PipelineEvent =
  | { readonly type: 'attempt-started'; readonly attempt: AttemptRecord }
  | { readonly type: 'identified'; readonly attempt: AttemptRecord }
  | { readonly type: 'step'; readonly attemptId: number; readonly step: StepName }
  | {
      readonly type: 'progress';
      readonly attemptId: number;
      readonly step: StepName;
      /** undefined for a part with nothing to count (a device applying firmware, rebooting). */
      readonly percent: number | undefined;
      readonly phase: string | undefined;
      readonly module: string | undefined;
      readonly path: 'normal' | 'dfu' | undefined;
      readonly expectedMs: number | undefined;
      readonly bytesPerSecond: number | undefined;
      readonly etaMs: number | undefined;
    }
  | {
      readonly type: 'attempt-finished';
      readonly attempt: AttemptRecord;
      /** Operator wording for a failure. */
      readonly title: string | undefined;
      /** A PASS's label as queued with it (when the profile prints labels). */
      readonly label?: SlotLabel | undefined;
      /** A PASS whose SIM the cloud refused (registration 'sim-failed'): the cloud's reason. */
      readonly simProblem?: { readonly code: string; readonly message: string } | undefined;
    };

/**
 * What the line database (core/line-db) says about a device at identify, before anything is
 * written to it. Without a line database there is no check and the station decides alone.
 */
export interface LineCheckResult {
  /** Recorded in the attempt's line_check: 'ok', 'ok; failed 2× elsewhere: …', 'skipped: unreachable', … */
  readonly check: string;
  /** A PASS at another station in this lot: the attempt is skipped unless re-flashing is allowed. */
  readonly passedElsewhere?:
    | { readonly station: string; readonly at: string; readonly title: string }
    | undefined;
  /** Another station already registered it in this product: no second import. */
  readonly registeredElsewhere?: boolean | undefined;
  /** Another station holds this device ID now (duplicate serials): the attempt fails with it. */
  readonly conflict?: LsError | undefined;
  /** Gives the device ID back to the line at the end of the attempt. */
  readonly release?: (() => void) | undefined;
}

export type LineCheck = (
  deviceId: string,
  ctx: {
    readonly attemptId: number;
    readonly lot: string;
    readonly productId: string;
    readonly signal: AbortSignal;
  },
) => Promise<LineCheckResult>;

export interface AttemptRequest {
  readonly log: StationLog;
  readonly batch: BatchRecord;
  readonly driver: SlotDriver;
  readonly slot: number;
  readonly device: UsbDeviceInfo;
  /** Platform the profile provisions; any other device is refused (never retried). */
  readonly platformId: number;
  readonly productId?: number | undefined;
  readonly reflashAlreadyProvisioned: boolean;
  readonly timeoutsMs?: Partial<Record<StepName, number>> | undefined;
  /** Station stop: the attempt ends as "interrupted". */
  readonly signal: AbortSignal;
  readonly emit: (e: PipelineEvent) => void;
  /** Minimum time between progress events (about 4 Hz). */
  readonly progressIntervalMs?: number | undefined;
  readonly clock?: () => number;
  /**
   * True when another slot is working on this device ID right now: two devices reporting one ID
   * (a known failure) must never both be flashed and registered under it.
   */
  readonly idInUseElsewhere?: ((deviceId: string) => boolean) | undefined;
  readonly labelSerial?: string | undefined;
  /** Asks the line database about the device after identify (history, and a claim on its ID). */
  readonly lineCheck?: LineCheck | undefined;
  /**
   * Runs inside the PASS's own group commit, so a PASS and its label job commit together
   * (core/station/labels.ts); what it returns goes out with the PASS.
   */
  readonly onPass?: ((attempt: AttemptRecord, identity: DeviceIdentity) => SlotLabel | undefined) | undefined;
}

const stepFailure = (code: string, message: string): LsFailure => new LsFailure({ code, message });

/**
 * Runs one step under its timeout and the station's signal. Races the driver so a driver that
 * ignores its signal (a hung transfer) still cannot hold the slot past the timeout.
 */
const runStep = async <T>(
  step: StepName,
  timeoutMs: number,
  outer: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = stepFailure(
        'STEP_TIMEOUT',
        `The ${step} step did not finish within ${Math.round(timeoutMs / 1000)} s.`,
      );
      ctl.abort(e);
      reject(e);
    }, timeoutMs);
    onAbort = () => {
      const e = stepFailure('INTERRUPTED', 'The station stopped during this attempt.');
      ctl.abort(e);
      reject(e);
    };
    if (outer.aborted) onAbort();
    else outer.addEventListener('abort', onAbort, { once: true });
  });
  const work = fn(ctl.signal);
  // The losing promise of the race must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
    if (onAbort) outer.removeEventListener('abort', onAbort);
  }
};

/**
 * One attempt on one slot: every state change is committed to the log before the matching event
 * is emitted. PASS only after the written image verified and the same device came back. Throws
 * only for store failures (STORE_*), which end the batch; device failures end the attempt.
 */
export const runAttempt = async (req: AttemptRequest): Promise<AttemptRecord> => {
  const { log, batch, driver, emit } = req;
  const clock = req.clock ?? (() => performance.now());
  const interval = req.progressIntervalMs ?? 250;
  const serial = req.device.serialNumber?.toLowerCase();
  const started = await log.grouped(() =>
    log.startAttempt({
      batchId: batch.id,
      slot: req.slot,
      portPath: req.device.portPath,
      deviceId: serial && /^[0-9a-f]{24}$/.test(serial) ? serial : null,
      labelSerial: req.labelSerial ?? null,
    }),
  );
  emit({ type: 'attempt-started', attempt: started });
  const attemptId = started.id;

  let current: StepName = 'identify';
  let lastProgress = Number.NEGATIVE_INFINITY;
  let lastPhase: string | undefined;
  const ctxFor = (step: StepName, signal: AbortSignal): StepContext => ({
    signal,
    device: req.device,
    onProgress: (p) => {
      const now = clock();
      const done = p.bytesTotal > 0 && p.bytesDone >= p.bytesTotal;
      // A new phase (another module, or a device now applying firmware) is always told at once.
      const changed = p.phase !== lastPhase;
      if (!done && !changed && now - lastProgress < interval) return;
      lastProgress = now;
      lastPhase = p.phase;
      emit({
        type: 'progress',
        attemptId,
        step,
        percent: p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : undefined,
        phase: p.phase,
        module: p.module,
        path: p.path,
        expectedMs: p.expectedMs,
        bytesPerSecond: p.bytesPerSecond,
        etaMs: p.etaMs,
      });
    },
  });
  /*
   * A finished step's duration is committed together with the next write (the next step's begin,
   * or the outcome): one fsync per step instead of two. Nothing is told about a step's end on its
   * own, so commit-before-tell still holds; a crash in between leaves the attempt interrupted at
   * the step it was in, which is what recovery reports anyway.
   */
  const deferred: (() => void)[] = [];
  const flushDeferred = () => {
    for (const write of deferred.splice(0)) write();
  };
  const stepDone = (name: StepName, ms: number, extra: Parameters<StationLog['finishStep']>[3] = {}) =>
    deferred.push(() => log.finishStep(attemptId, name, ms, extra));

  /** Runs a step under its timeout and returns its value with its duration. */
  const timed = async <T>(
    name: StepName,
    fn: (ctx: StepContext) => Promise<T>,
  ): Promise<{ value: T; ms: number }> => {
    current = name;
    await log.grouped(() => {
      flushDeferred();
      log.beginStep(attemptId, name);
    });
    emit({ type: 'step', attemptId, step: name });
    const t0 = clock();
    const value = await runStep(
      name,
      req.timeoutsMs?.[name] ?? STEP_TIMEOUTS_MS[name],
      req.signal,
      (signal) => fn(ctxFor(name, signal)),
    );
    return { value, ms: clock() - t0 };
  };

  let line: LineCheckResult | undefined;
  const finish = async (
    outcome: Parameters<StationLog['finishAttempt']>[1],
    title?: string,
    passed?: DeviceIdentity,
    simProblem?: { code: string; message: string },
  ): Promise<AttemptRecord> => {
    const { rec, label } = await log.grouped(() => {
      flushDeferred();
      const done = log.finishAttempt(attemptId, outcome);
      return { rec: done, label: passed ? req.onPass?.(done, passed) : undefined };
    });
    line?.release?.();
    emit({
      type: 'attempt-finished',
      attempt: rec,
      title,
      ...(label ? { label } : {}),
      ...(simProblem ? { simProblem } : {}),
    });
    return rec;
  };

  let registration: RegistrationState = 'not-attempted';
  try {
    const ident = await timed('identify', (ctx) => driver.identify(ctx));
    let id = ident.value;
    // Before anything is written to the device; the check bounds its own wait and never throws.
    // Not for an ID another of our slots holds: that attempt fails below, and its claim is theirs.
    line = req.idInUseElsewhere?.(id.deviceId)
      ? undefined
      : await req.lineCheck?.(id.deviceId, {
          attemptId,
          lot: batch.lot,
          productId: batch.product,
          signal: req.signal,
        });
    const identified = await log.grouped(() => {
      log.finishStep(attemptId, 'identify', ident.ms);
      if (line) log.setLineCheck(attemptId, line.check);
      return log.setIdentity(attemptId, {
        deviceId: id.deviceId,
        platform: platformName(id.platformId),
        ...identityDetails(id),
      });
    });
    emit({ type: 'identified', attempt: identified });
    if (req.idInUseElsewhere?.(id.deviceId))
      throw stepFailure(
        'DUPLICATE_DEVICE_ID',
        `Device ID ${id.deviceId} is being provisioned on another slot at the same time.`,
      );
    if (line?.conflict) throw new LsFailure(line.conflict);
    if (id.platformId !== req.platformId)
      throw stepFailure(
        'WRONG_PLATFORM',
        `This device is a ${platformName(id.platformId)}; the batch provisions ${platformName(req.platformId)}.`,
      );
    if (req.productId !== undefined && id.productId !== undefined && id.productId !== req.productId)
      throw stepFailure(
        'WRONG_PRODUCT',
        `This device runs firmware of product ${id.productId}; the batch provisions product ${req.productId}.`,
      );
    if (!req.reflashAlreadyProvisioned && log.hasPassed(batch.id, id.deviceId))
      return finish({ result: 'skipped', step: 'identify', alreadyProvisioned: true }, 'Already provisioned');
    if (!req.reflashAlreadyProvisioned && line?.passedElsewhere)
      return finish(
        { result: 'skipped', step: 'identify', alreadyProvisioned: true },
        line.passedElsewhere.title,
      );

    if (batch.mode === 'flash-on-line')
      await driver.install(id, {
        phase: async (name, fn) => {
          const r = await timed(name, (ctx) => fn(ctx));
          stepDone(name, r.ms, {
            moduleSteps: r.value.moduleSteps,
            setupDone: r.value.setupDone,
            moduleVersions: r.value.moduleVersions,
          });
          // PASS needs the same device back: a swapped device on the port never inherits a result.
          if (name === 'confirm' && r.value.deviceId && r.value.deviceId.toLowerCase() !== id.deviceId)
            throw stepFailure(
              'DEVICE_ID_CHANGED',
              `Device ${r.value.deviceId} came back on ${req.device.portPath} instead of ${id.deviceId}.`,
            );
          return r.value;
        },
      });
    // Found in DFU mode: its identity is read now that the install has it back in normal mode.
    // The identify step runs a second time (its column holds the total), so a required serial
    // number that cannot be read fails at identify, as it would have for a device in normal mode.
    if (id.identityPending && driver.identifyAfterInstall) {
      const pending = id;
      const late = await timed('identify', (ctx) =>
        (driver.identifyAfterInstall as NonNullable<SlotDriver['identifyAfterInstall']>)(pending, ctx),
      );
      id = { ...id, ...late.value, identityPending: false };
      const read = id;
      const again = await log.grouped(() => {
        flushDeferred();
        log.finishStep(attemptId, 'identify', late.ms);
        return log.setIdentityDetails(attemptId, identityDetails(read));
      });
      emit({ type: 'identified', attempt: again });
    }
    const passed = id;
    const reg = await timed(
      'register',
      (ctx): Promise<RegisterResult> =>
        // Registered by another station (the line database says so): a second import is not sent.
        line?.registeredElsewhere ? Promise.resolve({ state: 'registered' }) : driver.register(passed, ctx),
    );
    const result = reg.value;
    registration = result.state;
    stepDone('register', reg.ms);
    // A template the device could not fill (no serial for `{serial}`): registered without that part.
    if (result.skipped && result.skipped.length > 0) {
      const skipped = result.skipped;
      deferred.push(() =>
        log.recordEvent(batch.id, attemptId, 'registration-setup-skipped', {
          skipped: skipped.map((x) => ({ field: x.field, code: x.code, reason: x.reason })),
        }),
      );
    }
    const simProblem =
      result.state === 'sim-failed' ? { code: result.code, message: result.message } : undefined;
    if (simProblem) deferred.push(() => log.recordEvent(batch.id, attemptId, 'sim-failed', simProblem));
    return finish(
      { result: 'pass', step: 'register', registrationState: registration },
      undefined,
      passed,
      simProblem,
    );
  } catch (e) {
    const error: LsError = toLsError(e);
    if (/^STORE_/.test(error.code)) throw e;
    if (req.signal.aborted || error.code === 'INTERRUPTED') {
      return finish(
        {
          result: 'interrupted',
          step: current,
          error: {
            code: 'INTERRUPTED',
            message: 'The station stopped during this attempt.',
            remedy: 'Re-seat the device and run it again.',
          },
          registrationState: registration,
        },
        'Stopped',
      );
    }
    const d = describeFailure(error);
    return finish({ result: 'fail', step: current, error: d, registrationState: registration }, d.title);
  }
};

const platformName = (id: number): string => platformById(id)?.name ?? `platform ${id}`;

/** The identity fields as the log stores them. */
const identityDetails = (id: IdentityRead) => ({
  serialNumber: id.serialNumber,
  iccid: id.iccid,
  imei: id.imei,
  deviceOs: id.deviceOs,
  missing: id.identityMissing,
});

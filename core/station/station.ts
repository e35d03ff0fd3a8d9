import { type LsError, toLsError } from '../errors/result';
import { isParticleVendor } from '../platforms/lookup';
import type { AttemptRecord, BatchRecord, StepName } from '../store/records';
import type { StationLog } from '../store/station-log';
import type { UsbDeviceInfo, UsbEvent, UsbTransport } from '../usb/transport';
import type { LabelUpdate, SlotLabel } from './labels';
import { operatorError } from './operator-errors';
import {
  type DeviceIdentity,
  type LineCheck,
  type PipelineEvent,
  runAttempt,
  type SlotDriver,
} from './pipeline';

/** The parts of the profile the running station obeys. */
export interface StationPolicy {
  readonly slotCount: number;
  /** Port path -> operator label. Labelled ports take the first slots, in the order given. */
  readonly labels: Readonly<Record<string, string>>;
  readonly platformId: number;
  readonly productId?: number | undefined;
  /** Attempts per device in one sitting, counting the first (automatic retries only). */
  readonly maxAttempts: number;
  /** Codes the profile allows an automatic retry for; non-transient codes never retry. */
  readonly retryOn: readonly string[];
  readonly reflashAlreadyProvisioned: boolean;
  /** The line database's check at identify (history and a claim on the ID), when one is configured. */
  readonly lineCheck?: LineCheck | undefined;
}

export type SlotState = 'empty' | 'running' | 'passed' | 'failed' | 'skipped' | 'interrupted';

export interface SlotView {
  readonly slot: number;
  readonly label: string;
  readonly portPath: string | undefined;
  readonly state: SlotState;
  readonly deviceId: string | undefined;
  /** The sticker serial number identify read (shown under the device ID). */
  readonly serialNumber: string | undefined;
  /** Cellular platforms: the SIM's ICCID identify read. */
  readonly iccid: string | undefined;
  readonly attemptId: number | undefined;
  readonly step: StepName | undefined;
  readonly percent: number | undefined;
  /** What the step is doing now: `bootloader.bin (normal mode): applying`. */
  readonly activity: string | undefined;
  /** The module being installed and its path. */
  readonly module: string | undefined;
  readonly path: 'normal' | 'dfu' | undefined;
  /** What the current part usually takes, for a part without bytes to count (NCP applying). */
  readonly expectedMs: number | undefined;
  readonly bytesPerSecond: number | undefined;
  readonly etaMs: number | undefined;
  readonly error: { code: string; title: string; remedy: string; message: string } | undefined;
  /** The PASS's printed label: pending (and why), printed, failed, scanned back or mismatched. */
  readonly deviceLabel: SlotLabel | undefined;
  /**
   * A PASS with something an engineer must sort out: the cloud refused its SIM (registration
   * 'sim-failed'), so it cannot connect yet. In operator words, with the cloud's reason.
   */
  readonly warning: { code: string; title: string; remedy: string; message: string } | undefined;
}

export type StationEvent =
  | ({ readonly slot: number } & PipelineEvent)
  | {
      readonly type: 'retrying';
      readonly slot: number;
      readonly deviceId: string | null;
      readonly tryNumber: number;
    }
  | { readonly type: 'slot-refused'; readonly portPath: string; readonly reason: string }
  | { readonly type: 'target-reached'; readonly passed: number }
  /**
   * A slot's chain of attempts (the first and its automatic retries) is over: the operator acts
   * now (takes a PASS off the fixture, re-seats or sets aside a FAIL).
   */
  | {
      readonly type: 'slot-idle';
      readonly slot: number;
      readonly portPath: string;
      readonly attempt: AttemptRecord | undefined;
    }
  /**
   * A PASS's label changed (queued, printed, waiting on the printer, failed, scanned back). `slot`
   * is the slot still showing that attempt, if one does.
   */
  | ({ readonly type: 'label'; readonly slot: number | undefined } & LabelUpdate)
  /** The label queue could not be read or written; the loop tries again. */
  | { readonly type: 'label-error'; readonly message: string }
  /** The log cannot be written: the batch stops, nothing logged so far is lost. */
  | { readonly type: 'fatal'; readonly error: LsError };

/** Only the device-listing half of a transport: the station never opens devices itself. */
export type DeviceSource = Pick<UsbTransport, 'list' | 'watch'>;

export interface StationOptions {
  readonly log: StationLog;
  readonly batch: BatchRecord;
  readonly driverFor: (device: UsbDeviceInfo) => SlotDriver;
  readonly source: DeviceSource;
  readonly policy: StationPolicy;
  readonly timeoutsMs?: Partial<Record<StepName, number>> | undefined;
  /** Pause between a failure and its automatic retry (lets a re-enumeration settle). */
  readonly retryDelayMs?: number | undefined;
  readonly progressIntervalMs?: number | undefined;
  /**
   * Rescan period (default 2000 ms; 0 = events only). Not every platform delivers hot-plug events,
   * and a missed attach would leave a device waiting forever on its slot.
   */
  readonly rescanIntervalMs?: number | undefined;
  /** Queues a PASS's label in the PASS's own commit (core/station/labels.ts); none without a label. */
  readonly onPass?: ((attempt: AttemptRecord, identity: DeviceIdentity) => SlotLabel | undefined) | undefined;
}

interface Slot {
  readonly index: number;
  portPath: string | undefined;
  label: string;
  /** The device attached on this port now (updated through re-enumerations). */
  device: UsbDeviceInfo | undefined;
  running: Promise<void> | undefined;
  view: SlotView;
  /** A detach was seen after the last attempt ended: the next attach is a new plug. */
  replugged: boolean;
  lastDeviceId: string | undefined;
  lastAttempt: AttemptRecord | undefined;
}

/**
 * The running batch: up to `slotCount` slots in parallel, each an isolated chain of attempts. A
 * plug-in on a free slot starts an attempt; the slot's attempts never share state with another
 * slot, so a failure, hang or unplug stays where it happened.
 */
export class Station {
  private readonly slots: Slot[] = [];
  private readonly listeners = new Set<(e: StationEvent) => void>();
  private readonly abort = new AbortController();
  private unwatch: (() => void) | undefined;
  private rescanTimer: ReturnType<typeof setInterval> | undefined;
  /** Devices attached as far as the station knows, by enumeration key (events and rescans agree on it). */
  private readonly known = new Map<string, UsbDeviceInfo>();
  private eventSeq = 0;
  private paused = false;
  private stopped = false;
  private fatal: LsError | undefined;
  private targetAnnounced = false;
  private batch: BatchRecord;

  constructor(private readonly options: StationOptions) {
    this.batch = options.batch;
    const labelled = Object.entries(options.policy.labels);
    for (let i = 0; i < options.policy.slotCount; i++) {
      const preset = labelled[i];
      const slot: Slot = {
        index: i + 1,
        portPath: preset?.[0],
        label: preset?.[1] ?? String(i + 1),
        device: undefined,
        running: undefined,
        replugged: true,
        lastDeviceId: undefined,
        lastAttempt: undefined,
        view: emptyView(i + 1, preset?.[1] ?? String(i + 1), preset?.[0]),
      };
      this.slots.push(slot);
    }
  }

  on(listener: (e: StationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts watching; devices already plugged in start at once. */
  async start(): Promise<void> {
    this.unwatch = this.options.source.watch((e) => {
      this.eventSeq++;
      this.onUsb(e);
    });
    await this.rescan(true);
    const every = this.options.rescanIntervalMs ?? 2000;
    if (every > 0) {
      this.rescanTimer = setInterval(() => {
        void this.rescan().catch(() => undefined);
      }, every);
      this.rescanTimer.unref?.();
    }
  }

  /** Lists the bus and turns any difference from what events told us into attach/detach. */
  private async rescan(first = false): Promise<void> {
    // An event arriving while we list makes the list possibly stale (events are the fresher
    // truth): a periodic rescan then skips its round; the first one lists again.
    for (let tries = first ? 5 : 1; tries > 0; tries--) {
      const seq = this.eventSeq;
      const present = await this.options.source.list();
      if (this.stopped) return;
      if (seq !== this.eventSeq) continue;
      const keys = new Set(present.map((d) => d.key));
      for (const [key, d] of [...this.known]) if (!keys.has(key)) this.onUsb({ type: 'detach', device: d });
      for (const d of present) if (!this.known.has(d.key)) this.onUsb({ type: 'attach', device: d });
      return;
    }
  }

  views(): SlotView[] {
    return this.slots.map((s) => s.view);
  }

  /** A label changed (the print loop, a scan, a reprint): shown on the slot still showing its attempt. */
  labelChanged(update: LabelUpdate): void {
    const s = this.slots.find((x) => x.view.attemptId === update.attemptId);
    if (s) s.view = { ...s.view, deviceLabel: update.label };
    this.emit({ type: 'label', slot: s?.index, ...update });
  }

  /** The label queue failed to be read or written (the loop retries by itself). */
  labelError(message: string): void {
    this.emit({ type: 'label-error', message });
  }

  get fatalError(): LsError | undefined {
    return this.fatal;
  }

  /** No new attempt starts while paused; attempts in flight finish. */
  pause(actor: string): void {
    this.batch = this.options.log.setBatchState(this.batch.id, 'paused', actor);
    this.paused = true;
  }

  resume(actor: string): void {
    this.batch = this.options.log.setBatchState(this.batch.id, 'running', actor);
    this.paused = false;
    for (const s of this.slots)
      if (!s.running && s.device && s.view.state === 'empty') this.launch(s, s.device);
  }

  /** Resolves when no slot is running an attempt. */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.slots.map((s) => s.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Stops watching and interrupts attempts in flight; they are logged as interrupted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    this.abort.abort();
    await this.idle();
  }

  private emit(e: StationEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not break a slot's pipeline.
      }
    }
  }

  private slotFor(portPath: string): Slot | undefined {
    const bound = this.slots.find((s) => s.portPath === portPath);
    if (bound) return bound;
    const free = this.slots.find((s) => s.portPath === undefined);
    if (!free) return undefined;
    free.portPath = portPath;
    free.view = { ...free.view, portPath };
    return free;
  }

  private onUsb(e: UsbEvent): void {
    if (this.stopped) return;
    if (e.type === 'attach') {
      if (this.known.has(e.device.key)) return;
      this.known.set(e.device.key, e.device);
    } else if (!this.known.delete(e.device.key)) return;
    if (!isParticleVendor(e.device.vendorId)) return;
    if (e.type === 'detach') {
      const s = this.slots.find((x) => x.portPath === e.device.portPath);
      if (!s || s.device?.key !== e.device.key) return;
      s.device = undefined;
      if (!s.running) {
        s.replugged = true;
        s.view = { ...emptyView(s.index, s.label, s.portPath), state: 'empty' };
      }
      return;
    }
    const s = this.slotFor(e.device.portPath);
    if (!s) {
      this.emit({
        type: 'slot-refused',
        portPath: e.device.portPath,
        reason: `All ${this.slots.length} slots of this profile are in use.`,
      });
      return;
    }
    s.device = e.device;
    // While an attempt runs, attach events are the device re-enumerating (DFU and back): the
    // pipeline is waiting for them, the slot must not start a second attempt.
    if (s.running) return;
    const serial = e.device.serialNumber?.toLowerCase();
    const sameAsLast = serial !== undefined && serial === s.lastDeviceId;
    if (!s.replugged && sameAsLast) return;
    this.launch(s, e.device);
  }

  private launch(s: Slot, device: UsbDeviceInfo, tryNumber = 1): void {
    if (this.paused || this.stopped || this.fatal || this.batch.state === 'closed') return;
    s.replugged = false;
    s.view = { ...emptyView(s.index, s.label, s.portPath), state: 'running' };
    const run = this.runSlot(s, device, tryNumber).finally(() => {
      if (s.running === run) s.running = undefined;
      // Only the first launch of a chain reports the end; retries are awaited inside it.
      if (tryNumber === 1)
        this.emit({ type: 'slot-idle', slot: s.index, portPath: device.portPath, attempt: s.lastAttempt });
    });
    s.running = run;
  }

  private async runSlot(s: Slot, device: UsbDeviceInfo, tryNumber: number): Promise<void> {
    let rec: AttemptRecord;
    try {
      rec = await runAttempt({
        log: this.options.log,
        batch: this.batch,
        driver: this.options.driverFor(device),
        slot: s.index,
        device,
        platformId: this.options.policy.platformId,
        productId: this.options.policy.productId,
        reflashAlreadyProvisioned: this.options.policy.reflashAlreadyProvisioned,
        timeoutsMs: this.options.timeoutsMs,
        signal: this.abort.signal,
        idInUseElsewhere: (id) =>
          this.slots.some((o) => o !== s && o.running !== undefined && o.view.deviceId === id),
        progressIntervalMs: this.options.progressIntervalMs,
        lineCheck: this.options.policy.lineCheck,
        onPass: this.options.onPass,
        emit: (pe) => this.onPipeline(s, pe),
      });
    } catch (e) {
      // Only store failures reach here: the log cannot record results, so nothing else may run.
      this.fatal = toLsError(e);
      s.view = { ...s.view, state: 'failed' };
      this.emit({ type: 'fatal', error: this.fatal });
      this.abort.abort();
      return;
    }
    s.lastDeviceId = rec.deviceId ?? undefined;
    s.lastAttempt = rec;
    // Pulled out during the attempt and not back: whatever attaches next is a new plug-in.
    if (!s.device) s.replugged = true;
    if (rec.result === 'pass') this.checkTarget();
    if (rec.result !== 'fail' || this.stopped) return;
    const code = rec.errorCode ?? '';
    const retryable =
      this.options.policy.retryOn.includes(code) &&
      operatorError(code).transient &&
      tryNumber < this.options.policy.maxAttempts;
    if (!retryable || !s.device) return;
    const delay = this.options.retryDelayMs ?? 500;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    // Unplugged meanwhile: the next plug-in starts afresh.
    if (!s.device || this.stopped) return;
    this.emit({ type: 'retrying', slot: s.index, deviceId: rec.deviceId, tryNumber: tryNumber + 1 });
    s.running = undefined;
    this.launch(s, s.device, tryNumber + 1);
    await s.running;
  }

  private onPipeline(s: Slot, e: PipelineEvent): void {
    switch (e.type) {
      case 'attempt-started':
        s.view = {
          ...s.view,
          state: 'running',
          attemptId: e.attempt.id,
          deviceId: e.attempt.deviceId ?? undefined,
        };
        break;
      case 'identified':
        s.view = {
          ...s.view,
          deviceId: e.attempt.deviceId ?? undefined,
          serialNumber: e.attempt.serialNumber ?? undefined,
          iccid: e.attempt.iccid ?? undefined,
        };
        break;
      case 'step':
        s.view = {
          ...s.view,
          step: e.step,
          percent: undefined,
          activity: undefined,
          module: undefined,
          path: undefined,
          expectedMs: undefined,
          bytesPerSecond: undefined,
          etaMs: undefined,
        };
        break;
      case 'progress':
        s.view = {
          ...s.view,
          percent: e.percent,
          activity: e.phase,
          module: e.module,
          path: e.path,
          expectedMs: e.expectedMs,
          bytesPerSecond: e.bytesPerSecond,
          etaMs: e.etaMs,
        };
        break;
      case 'attempt-finished': {
        const a = e.attempt;
        const state: SlotState =
          a.result === 'pass'
            ? 'passed'
            : a.result === 'skipped'
              ? 'skipped'
              : a.result === 'interrupted'
                ? 'interrupted'
                : 'failed';
        s.view = {
          ...s.view,
          state,
          step: a.step ?? undefined,
          error:
            a.result === 'fail' || a.result === 'interrupted'
              ? {
                  code: a.errorCode ?? 'UNKNOWN',
                  title: e.title ?? operatorError(a.errorCode ?? '').title,
                  remedy: a.errorRemedy ?? operatorError(a.errorCode ?? '').remedy,
                  message: a.errorMessage ?? '',
                }
              : undefined,
          // The print loop may already have told a newer state of this very job.
          deviceLabel:
            s.view.deviceLabel && s.view.deviceLabel.jobId === e.label?.jobId ? s.view.deviceLabel : e.label,
          warning: e.simProblem
            ? {
                code: e.simProblem.code,
                title: operatorError(e.simProblem.code).title,
                remedy: operatorError(e.simProblem.code).remedy,
                message: e.simProblem.message,
              }
            : undefined,
        };
        break;
      }
    }
    this.emit({ ...e, slot: s.index });
  }

  private checkTarget(): void {
    const target = this.batch.targetCount;
    if (target === null || this.targetAnnounced) return;
    const passed = this.options.log.passedCount(this.batch.id);
    if (passed >= target) {
      this.targetAnnounced = true;
      this.emit({ type: 'target-reached', passed });
    }
  }
}

const emptyView = (slot: number, label: string, portPath: string | undefined): SlotView => ({
  slot,
  label,
  portPath,
  state: 'empty',
  deviceId: undefined,
  serialNumber: undefined,
  iccid: undefined,
  attemptId: undefined,
  step: undefined,
  percent: undefined,
  activity: undefined,
  module: undefined,
  path: undefined,
  expectedMs: undefined,
  bytesPerSecond: undefined,
  etaMs: undefined,
  error: undefined,
  deviceLabel: undefined,
  warning: undefined,
});

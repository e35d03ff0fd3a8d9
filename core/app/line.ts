import type { BackoffPolicy } from '../cloud/backoff';
import type { Drain } from '../cloud/outbox-drain';
import type { RateLimiter } from '../cloud/rate-budget';
import type { LabelProblem, SlotLabelView, StationLabelsView } from '../contract/labels';
import type { BatchSummary, LogLine, SlotView, StationState } from '../contract/station';
import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { labelCounts, targetName } from '../labels/index';
import type { LineStatus } from '../line-db/status';
import { lineStatusLine } from '../line-db/status';
import { isParticleVendor } from '../platforms/lookup';
import type { SlotLabel } from '../station/labels';
import { operatorError } from '../station/operator-errors';
import { openSession, type Session, type SessionOptions } from '../station/session';
import type { SlotView as CoreSlotView, StationEvent } from '../station/station';
import type { BatchRecord } from '../store/records';
import { takeoverNotice } from '../store/station-lock';
import type { StationLog } from '../store/station-log';
import { batchStats } from '../store/stats';
import type { UsbTransport } from '../usb/transport';

/**
 * The line as the desktop app runs it: at most one open batch, its slots, the live event log and
 * the label serials waiting for a PASS. It wraps core/station's session (the same one `linestation
 * run` uses) and turns its events into throttled `station.changed` snapshots for the screen.
 */

export interface LineTuning {
  readonly pollMs?: number;
  readonly reenumerationTimeoutMs?: number;
  readonly retryDelayMs?: number;
  readonly registerWaitMs?: number;
  /** How long each start-up cloud check waits out transient answers (default 30 s). */
  readonly cloudWaitMs?: number;
  /** The backoff between those retries and the outbox's (default: the outbox's own); tests scale it down. */
  readonly cloudBackoff?: BackoffPolicy;
  /** Between tries of a label while the printer is not ready (default 1 s doubling to 30 s). */
  readonly labelBackoff?: BackoffPolicy;
}

export interface LineOptions {
  readonly transport: () => UsbTransport | undefined;
  readonly simulated: boolean;
  readonly dataDir: string;
  readonly tuning: LineTuning | undefined;
  /** Station name and slot labels by port path, read fresh so an engineer's change shows at once. */
  readonly settings: () => {
    stationName: string;
    slotLabels: Readonly<Record<string, string>>;
    /** The variable holding the line database URL (undefined: LINESTATION_LINE_DB). */
    lineDbEnv?: string | undefined;
  };
  /** The station's one cloud rate limiter (its share of the public IP's budget), for each batch. */
  readonly rateLimiter?: () => RateLimiter;
  /** The environment the session reads (the token variable included, when one is stored). */
  readonly env: () => Promise<NodeJS.ProcessEnv>;
  readonly onChange: (state: StationState) => void;
  /** Minimum ms between two `station.changed` snapshots (the UI's 4 Hz). */
  readonly throttleMs?: number;
  readonly now?: () => Date;
}

const LOG_LINES = 200;

export const batchSummary = (log: StationLog, b: BatchRecord): BatchSummary => {
  const s = batchStats(log, b.lot);
  return {
    id: b.id,
    lot: b.lot,
    product: b.product,
    productName: b.profileName,
    platform: b.platform,
    mode: b.mode,
    operator: b.operator,
    station: b.station,
    state: b.state,
    startedAt: b.startedAt,
    endedAt: b.endedAt,
    targetCount: b.targetCount,
    profileHash: b.profileHash,
    firmware: b.firmware.map((f) => ({ name: f.name, sha256: f.sha256 })),
    attempts: s.attempts,
    passed: s.devicesPassed,
    failed: Math.max(0, s.devices - s.devicesPassed),
    devices: s.devices,
    yield: s.yield,
    devicesPerHour: s.devicesPerHour,
  };
};

const problemView = (p: LabelProblem | undefined) => (p ? { problem: { ...p } } : {});

/** A slot's label as the contract has it (absent keys rather than undefined ones). */
export const slotLabelView = (l: SlotLabel): SlotLabelView => ({
  jobId: l.jobId,
  state: l.state,
  content: l.content,
  maybePrinted: l.maybePrinted,
  ...problemView(l.problem),
  ...(l.verified ? { verified: l.verified } : {}),
  ...(l.mismatch ? { mismatch: { ...l.mismatch } } : {}),
});

/** Drops undefined fields: the contract's optional keys are absent, never `undefined`. */
const slotView = (
  v: CoreSlotView,
  labels: Readonly<Record<string, string>>,
  labelSerial?: string,
): SlotView => {
  const out: SlotView = {
    slot: v.slot,
    label: (v.portPath && labels[v.portPath]) || v.label,
    state: v.state,
  };
  if (v.portPath) out.portPath = v.portPath;
  if (v.deviceId) out.deviceId = v.deviceId;
  if (v.serialNumber) out.serialNumber = v.serialNumber;
  if (v.iccid) out.iccid = v.iccid;
  if (v.step) out.step = v.step;
  if (v.percent !== undefined) out.percent = v.percent;
  if (v.activity) out.activity = v.activity;
  if (v.module) out.module = v.module;
  if (v.path) out.path = v.path;
  if (v.expectedMs !== undefined) out.expectedMs = v.expectedMs;
  if (v.bytesPerSecond !== undefined) out.bytesPerSecond = v.bytesPerSecond;
  if (v.etaMs !== undefined) out.etaMs = v.etaMs;
  if (v.error) out.error = { ...v.error };
  if (labelSerial && v.state === 'passed') out.labelSerial = labelSerial;
  if (v.deviceLabel) out.deviceLabel = slotLabelView(v.deviceLabel);
  if (v.warning && v.state === 'passed') out.warning = { ...v.warning };
  return out;
};

export class Line {
  private session: Session | undefined;
  private summary: BatchSummary | null = null;
  private readonly log: LogLine[] = [];
  private seq = 0;
  private readonly labels: string[] = [];
  /** Label paired with the PASS now shown on a slot. */
  private readonly slotLabelSerial = new Map<number, string>();
  private notice: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastEmit = 0;
  private starting = false;
  /** The label printer's problem while labels wait for it (cleared by the next printed label). */
  private labelProblem: LabelProblem | undefined;

  constructor(private readonly o: LineOptions) {}

  get running(): boolean {
    return this.session !== undefined;
  }

  /** The open session's outbox drain: a manual sync goes through it, never through a second drainer. */
  get sessionDrain(): Drain | undefined {
    return this.session?.drain;
  }

  /** The line database's forwarding status while a batch runs with one. */
  get lineStatus(): LineStatus | undefined {
    return this.session?.line?.status();
  }

  /** The open session's log (reads while a batch runs see its own commits at once). */
  get sessionLog(): StationLog | undefined {
    return this.session?.log;
  }

  state(): StationState {
    const s = this.session;
    const settings = this.o.settings();
    return {
      stationName: settings.stationName,
      running: s !== undefined,
      batch: this.summary,
      slots: s
        ? s.station.views().map((v) => slotView(v, settings.slotLabels, this.slotLabelSerial.get(v.slot)))
        : [],
      pendingLabels: [...this.labels],
      log: [...this.log],
      ...(this.notice ? { notice: this.notice } : {}),
      ...(s?.line ? { lineDatabase: lineStatusLine(s.line.status()) } : {}),
      ...(s?.labels ? { labels: this.labelsView(s) } : {}),
    };
  }

  private labelsView(s: Session): StationLabelsView {
    const template = s.labels?.template;
    let counts = { pending: 0, printed: 0, failed: 0 };
    try {
      counts = labelCounts(s.log.db, s.batch.id);
    } catch {
      // A read failing mid-batch shows zeros until the next snapshot.
    }
    return {
      scanBack: s.labels?.scanBack ?? false,
      target: template ? targetName(template.printer) : '',
      ...counts,
      ...problemView(counts.pending > 0 ? this.labelProblem : undefined),
    };
  }

  /** Whether the running batch prints labels (a reprint queued now prints at once). */
  get printsLabels(): boolean {
    return this.session?.labels !== undefined;
  }

  /** "Print now": every waiting label is tried at once (the operator fixed the printer). */
  async printLabelsNow(): Promise<Result<{ printed: number; waiting: number; failed: number }>> {
    const labels = this.session?.labels;
    if (!labels)
      return err('LABELS_NOT_RUNNING', 'No batch that prints labels is running on this station.', {
        remedy: 'Start the batch; its waiting labels print with it.',
      });
    const report = await labels.loop.printDue({ ignoreSchedule: true });
    this.schedule();
    return ok({ ...report });
  }

  async start(
    profilePath: string | undefined,
    lot: string,
    operator: string,
    override: { offline?: boolean; accept?: readonly string[] } = {},
  ): Promise<Result<StationState>> {
    if (this.session || this.starting)
      return err('BATCH_RUNNING', `Batch ${this.summary?.lot ?? lot} is running on this station.`, {
        remedy: 'Stop it first (Esc, or the Stop button), then scan the next lot.',
      });
    if (!profilePath)
      return err('NO_PROFILE', 'This station has no product profile loaded.', {
        remedy: 'Have an engineer load and lock the product profile.',
      });
    const transport = this.o.transport();
    if (!transport)
      return err('USB_UNAVAILABLE', 'This station has no USB access.', {
        remedy: 'Start the desktop app on the station computer, or run the demo.',
      });
    this.starting = true;
    try {
      const t = this.o.tuning ?? {};
      const options: SessionOptions = {
        profilePath,
        lot,
        operator,
        station: this.o.settings().stationName,
        slotLabels: this.o.settings().slotLabels,
        lineDbEnv: this.o.settings().lineDbEnv,
        ...(this.o.rateLimiter ? { rateLimiter: this.o.rateLimiter() } : {}),
        dataDir: this.o.dataDir,
        env: await this.o.env(),
        offline: override.offline ?? false,
        acceptances: (override.accept ?? []).map((item) => ({
          item,
          by: 'engineer',
          at: (this.o.now?.() ?? new Date()).toISOString(),
        })),
        transport,
        simulated: this.o.simulated,
        pollMs: t.pollMs,
        reenumerationTimeoutMs: t.reenumerationTimeoutMs,
        retryDelayMs: t.retryDelayMs,
        registerWaitMs: t.registerWaitMs ?? 2000,
        cloudWaitMs: t.cloudWaitMs,
        cloudBackoff: t.cloudBackoff,
        labelBackoff: t.labelBackoff,
        // Shown at once in the event log: the screen must not look frozen while the cloud is waited for.
        onCloudWait: (w) => {
          this.line('warn', `Batch ${lot}: ${w.message}.`);
          this.flush();
        },
      };
      let opened: Result<Session>;
      try {
        opened = await openSession(options);
      } catch (e) {
        opened = { ok: false, error: toLsError(e) };
      }
      if (!opened.ok) {
        this.line('fail', `Batch ${lot} refused: ${opened.error.message}`);
        return opened;
      }
      const session = opened.value;
      this.session = session;
      this.notice = undefined;
      this.labels.length = 0;
      this.slotLabelSerial.clear();
      this.labelProblem = undefined;
      this.refreshSummary();
      session.station.on((e) => this.onStation(e));
      // The line database's state changes go to the event log as they happen (never its password).
      session.line?.forwarder.subscribe((e) => {
        if (e.type !== 'state') return;
        const bad = e.status.state === 'unreachable' || e.status.state === 'refused';
        this.line(
          bad ? 'warn' : 'info',
          `${lineStatusLine(e.status)}${bad && e.status.error ? `: ${e.status.error.message} ${e.status.error.remedy ?? ''}`.trimEnd() : ''}`,
        );
        this.schedule();
      });
      this.line(
        'info',
        `${session.resumed ? 'Resumed' : 'Started'} batch ${lot}: ${session.loaded.profile.product.name}, operator ${operator}.`,
      );
      if (session.tookOverFrom) this.line('warn', takeoverNotice(session.tookOverFrom));
      if (session.recovered > 0)
        this.line(
          'warn',
          `${session.recovered} attempt(s) left running by a previous run were marked interrupted.`,
        );
      if (session.labels)
        this.line(
          'info',
          `Labels print to ${targetName(session.labels.template.printer)}${session.labels.scanBack ? '; scan each label after sticking it on' : ''}.`,
        );
      await session.station.start();
      this.flush();
      return ok(this.state());
    } finally {
      this.starting = false;
    }
  }

  /** Stops the batch; it stays resumable (paused) unless `close` is asked for. */
  async stop(actor: string, close: boolean, reason = 'stopped by the operator'): Promise<StationState> {
    const s = this.session;
    if (!s) return this.state();
    this.session = undefined;
    await s.station.stop();
    try {
      const current = s.log.requireBatchById(s.batch.id);
      if (current.state !== 'closed')
        s.log.setBatchState(s.batch.id, close ? 'closed' : 'paused', actor, { reason });
      this.summary = batchSummary(s.log, s.log.requireBatchById(s.batch.id));
    } catch (e) {
      this.line('fail', `The batch state could not be saved: ${toLsError(e).message}`);
    }
    await s.close({ flushMs: 2000 });
    this.line('info', `Batch ${s.batch.lot} ${close ? 'closed' : 'stopped'} (${reason}).`);
    this.flush();
    return this.state();
  }

  /**
   * A scan in the station's scan box while a batch runs. With a label printer and scan-back on it
   * checks the printed label (a wrong one is LABEL_MISMATCH with both values, loud on the slot and
   * in the log); otherwise the serial waits for the next PASS (manual pairing).
   */
  scanLabel(
    serial: string,
    by?: string,
  ): Result<{
    mode: 'verify' | 'pair';
    pendingLabels: string[];
    verified?: { attemptId: number; deviceId: string; content: string; alreadyVerified: boolean };
  }> {
    const labels = this.session?.labels;
    if (labels?.scanBack) {
      const r = labels.scan(serial, by ?? this.session?.batch.operator);
      this.schedule();
      if (!r.ok) {
        const e = r.error;
        const slot = this.slotOfAttempt(e.details?.attemptId);
        this.line(
          e.code === 'LABEL_MISMATCH' ? 'fail' : 'warn',
          `${slot !== undefined ? `Slot ${this.slotName(slot)}: ` : ''}${e.code === 'LABEL_MISMATCH' ? 'LABEL MISMATCH: ' : ''}${e.message} ${e.remedy ?? ''}`.trimEnd(),
          slot,
        );
        return r;
      }
      const v = r.value;
      const slot = this.slotOfAttempt(v.attemptId);
      this.line(
        'pass',
        `${slot !== undefined ? `Slot ${this.slotName(slot)}: ` : ''}label ${v.content} verified on ${v.deviceId}${v.alreadyVerified ? ' (scanned before)' : ''}.`,
        slot,
      );
      return ok({ mode: 'verify', pendingLabels: [...this.labels], verified: { ...v } });
    }
    this.labels.push(serial);
    this.line('info', `Label ${serial} scanned: it goes with the next device that passes.`);
    this.schedule();
    return ok({ mode: 'pair', pendingLabels: [...this.labels] });
  }

  private slotOfAttempt(attemptId: unknown): number | undefined {
    if (typeof attemptId !== 'number') return undefined;
    return this.session?.station.views().find((v) => v.attemptId === attemptId)?.slot;
  }

  /** Devices attached now (for labelling ports); Particle devices only. */
  async ports(): Promise<Result<{ portPath: string; deviceId?: string }[]>> {
    const transport = this.o.transport();
    if (!transport) return err('USB_UNAVAILABLE', 'This station has no USB access.');
    try {
      const list = await transport.list();
      return ok(
        list
          .filter((d) => isParticleVendor(d.vendorId))
          .map((d) => ({
            portPath: d.portPath,
            ...(d.serialNumber ? { deviceId: d.serialNumber.toLowerCase() } : {}),
          })),
      );
    } catch (e) {
      return { ok: false, error: toLsError(e, 'USB_UNAVAILABLE') };
    }
  }

  async dispose(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.stop('app', false, 'the app closed');
  }

  private refreshSummary(): void {
    const s = this.session;
    if (!s) return;
    try {
      this.summary = batchSummary(s.log, s.log.requireBatchById(s.batch.id));
    } catch {
      // A read failing mid-batch leaves the last counts up; the next attempt refreshes them.
    }
  }

  private line(level: LogLine['level'], text: string, slot?: number): void {
    this.log.push({
      seq: ++this.seq,
      at: (this.o.now?.() ?? new Date()).toISOString(),
      level,
      text,
      ...(slot !== undefined ? { slot } : {}),
    });
    if (this.log.length > LOG_LINES) this.log.splice(0, this.log.length - LOG_LINES);
  }

  private slotName(slot: number): string {
    const v = this.session?.station.views()[slot - 1];
    const labels = this.o.settings().slotLabels;
    return (v?.portPath && labels[v.portPath]) || v?.label || String(slot);
  }

  private onStation(e: StationEvent): void {
    switch (e.type) {
      case 'attempt-started':
        this.slotLabelSerial.delete(e.slot);
        this.line('info', `Slot ${this.slotName(e.slot)}: device plugged in, starting.`, e.slot);
        break;
      case 'attempt-finished': {
        const a = e.attempt;
        const who = a.deviceId ?? a.portPath;
        if (a.result === 'pass') {
          // A printed label is checked by scanning it back, never paired by hand.
          const label = this.session?.labels?.scanBack ? undefined : this.labels.shift();
          if (label) this.pairLabel(a.id, label, e.slot);
          this.line(
            'pass',
            `Slot ${this.slotName(e.slot)}: ${who} PASS${label ? `, label ${label}` : ''}${e.label ? `, label ${e.label.state}` : ''}.`,
            e.slot,
          );
          // The device is good; its SIM is not active yet, which an engineer must sort out.
          if (e.simProblem)
            this.line(
              'warn',
              `Slot ${this.slotName(e.slot)}: ${who}: ${operatorError(e.simProblem.code).title}: ${e.simProblem.message}`,
              e.slot,
            );
        } else if (a.result === 'skipped')
          this.line(
            'warn',
            e.title && e.title !== 'Already provisioned'
              ? `Slot ${this.slotName(e.slot)}: ${who}: ${e.title}.`
              : `Slot ${this.slotName(e.slot)}: ${who} was already provisioned in this batch.`,
            e.slot,
          );
        else
          this.line(
            'fail',
            `Slot ${this.slotName(e.slot)}: ${who} FAIL at ${a.step ?? 'start'}: ${e.title ?? a.errorCode}.`,
            e.slot,
          );
        this.refreshSummary();
        break;
      }
      case 'retrying':
        this.line('warn', `Slot ${this.slotName(e.slot)}: retrying (try ${e.tryNumber}).`, e.slot);
        break;
      case 'slot-refused':
        this.line('warn', `Device on port ${e.portPath} ignored: ${e.reason}`);
        break;
      case 'label':
        this.onLabel(e);
        break;
      case 'label-error':
        this.line('warn', `The label queue could not be read or written: ${e.message}`);
        break;
      case 'fatal':
        this.fail(e.error);
        return;
      default:
        break;
    }
    this.schedule();
  }

  /** Printed, waiting and failed labels in the event log; a printer problem once, not at every retry. */
  private onLabel(e: Extract<StationEvent, { type: 'label' }>): void {
    const where = e.slot !== undefined ? `Slot ${this.slotName(e.slot)}: ` : '';
    const p = e.label.problem;
    switch (e.change) {
      case 'printed':
        if (this.labelProblem)
          this.line('info', `Label printer ready again (${this.labelProblem.title} cleared).`);
        this.labelProblem = undefined;
        this.line(
          'info',
          `${where}label printed for ${e.deviceId}${e.label.content !== e.deviceId ? ` (${e.label.content})` : ''}.`,
          e.slot,
        );
        break;
      case 'waiting':
        if (p && p.code !== this.labelProblem?.code)
          this.line('warn', `Labels waiting: ${p.title}. ${p.remedy}`, e.slot);
        this.labelProblem = p;
        break;
      case 'failed':
        this.line(
          'fail',
          `${where}label for ${e.deviceId} not printed: ${p?.title ?? 'failed'} (${p?.code ?? ''}). ${p?.remedy ?? ''}`.trimEnd(),
          e.slot,
        );
        break;
      default:
        // Queued: said with the PASS; verified and mismatch: said where the scan was made.
        break;
    }
  }

  /** Pairs the label with the attempt in one commit (column + event) before the screen shows it. */
  private pairLabel(attemptId: number, label: string, slot: number): void {
    const log = this.session?.log;
    if (!log) return;
    try {
      log.setLabelSerial(attemptId, label);
      this.slotLabelSerial.set(slot, label);
    } catch (e) {
      // Keep the label for the next PASS rather than lose it.
      this.labels.unshift(label);
      this.line('fail', `Label ${label} could not be stored: ${toLsError(e).message}`, slot);
    }
  }

  private fail(error: LsError): void {
    this.notice = `Stopped: ${error.message}${error.remedy ? ` ${error.remedy}` : ''}`;
    this.line('fail', this.notice);
    void this.stop('station', false, error.code);
  }

  /** Trailing-edge throttle: a burst of progress events becomes one snapshot per interval. */
  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastEmit + (this.o.throttleMs ?? 250) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastEmit = Date.now();
    this.o.onChange(this.state());
  }
}

import type { DatabaseSync } from 'node:sqlite';
import type { BackoffPolicy } from '../cloud/backoff';
import type { Result } from '../errors/result';
import {
  attemptLabelState,
  buildLabelRecord,
  checkScannedLabel,
  createLabelLoop,
  enqueueLabel,
  type LabelErrorCode,
  type LabelJob,
  type LabelJobState,
  type LabelLoop,
  type LabelLoopEvent,
  type LabelPrinter,
  type LabelTemplate,
  type LabelVerification,
  labelPrinter,
  type ScanOutcome,
} from '../labels/index';
import type { AttemptRecord } from '../store/records';
import type { StationLog } from '../store/station-log';
import { operatorError } from './operator-errors';
import type { DeviceIdentity } from './pipeline';

/**
 * The station's labels (core/labels wired into a running batch): every PASS queues its label in
 * the PASS's own group commit, a print loop runs for the session's lifetime, and each change of a
 * label (queued, printed, waiting on the printer, failed, scanned back) reaches the station, which
 * shows it on the slot of the attempt. A printer problem never turns a PASS into a FAIL: the job
 * waits under the printer's named error. A wrong label scanned back is loud (LABEL_MISMATCH with
 * both values) but is the label's failure, not the device's.
 */

/** A problem in the operator's words (core/station/operator-errors.ts, where LABEL_ERRORS are merged). */
export interface LabelProblem {
  readonly code: string;
  readonly title: string;
  readonly remedy: string;
  readonly message: string;
}

/** What a slot shows of its PASS's label. */
export interface SlotLabel {
  readonly jobId: number;
  readonly state: LabelJobState;
  /** The symbol's content: what the scan-back check expects. Empty when it could not be made. */
  readonly content: string;
  /** Why the label waits (the printer's problem) or why it cannot be made (failed). */
  readonly problem: LabelProblem | undefined;
  /** A connection was lost after the label left: a spare may come out. */
  readonly maybePrinted: boolean;
  readonly verified: LabelVerification | null;
  /** The wrong scan recorded against this label, with what it should have said. */
  readonly mismatch: { readonly expected: string; readonly scanned: string } | undefined;
}

export type LabelChange = 'queued' | 'printed' | 'waiting' | 'failed' | 'verified' | 'mismatch';

/** One label's change, told after it was committed. */
export interface LabelUpdate {
  readonly attemptId: number;
  readonly deviceId: string;
  readonly change: LabelChange;
  readonly label: SlotLabel;
}

export type StationLabelEvent = LabelUpdate | { readonly change: 'error'; readonly message: string };

/** The facts of the line a label shows besides the device's own. */
export interface LabelLineFacts {
  readonly productName: string;
  readonly productVersion?: string | number | undefined;
  readonly lot: string;
  readonly station: string;
  /** IANA zone for the label's date (default the station's own). */
  readonly timeZone?: string | undefined;
}

export interface StationLabelsOptions {
  readonly log: StationLog;
  readonly batchId: number;
  readonly template: LabelTemplate;
  readonly facts: LabelLineFacts;
  /** Default: the template's own printer target. */
  readonly printer?: LabelPrinter | undefined;
  /** Between tries while the printer is not ready (default: 1 s doubling to 30 s). */
  readonly backoff?: BackoffPolicy | undefined;
  /** Longest sleep between looks at the queue, for reprints queued by another process (the CLI). */
  readonly idlePollMs?: number | undefined;
}

export interface StationLabels {
  readonly template: LabelTemplate;
  /** The scan box checks printed labels (rather than pairing serials by hand). */
  readonly scanBack: boolean;
  readonly loop: LabelLoop;
  /** Runs inside the PASS's group commit: queues its label and says what the slot shows. */
  onPass(attempt: AttemptRecord, identity: DeviceIdentity): SlotLabel | undefined;
  /** The scan box: verifies the scanned label against the batch's printed ones. */
  scan(scanned: string, actor?: string): Result<ScanOutcome, LabelErrorCode>;
  /** What a slot shows for an attempt's label now (undefined: it has none). */
  view(attemptId: number): SlotLabel | undefined;
  /** Tells about a job changed by someone else (a reprint from the batch view). */
  changed(job: LabelJob, change: LabelChange): void;
  subscribe(listener: (e: StationLabelEvent) => void): () => void;
  /** Tries every pending label now ("Print now", after the operator fixed the printer). */
  printNow(signal?: AbortSignal): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const problemOf = (code: string | null, message: string | null): LabelProblem | undefined => {
  if (!code) return undefined;
  const op = operatorError(code);
  return { code, title: op.title, remedy: op.remedy, message: message ?? '' };
};

const lastMismatch = (
  db: DatabaseSync,
  attemptId: number,
): { expected: string; scanned: string } | undefined => {
  const r = db
    .prepare(
      "SELECT data FROM events WHERE attempt_id = ? AND type = 'label-mismatch' ORDER BY id DESC LIMIT 1",
    )
    .get(attemptId) as { data: string } | undefined;
  if (!r) return undefined;
  const d = JSON.parse(r.data) as { expected?: unknown; scanned?: unknown };
  return typeof d.expected === 'string' && typeof d.scanned === 'string'
    ? { expected: d.expected, scanned: d.scanned }
    : undefined;
};

/**
 * A job as a slot shows it. The problem is what the operator must act on: a wrong label scanned
 * back, or the printer's state while the label waits, or why it cannot be made.
 */
export const slotLabelOf = (
  job: LabelJob,
  verified: LabelVerification | null,
  mismatch?: { expected: string; scanned: string },
): SlotLabel => ({
  jobId: job.id,
  state: job.state,
  content: job.content,
  problem:
    verified === 'mismatch'
      ? problemOf(
          'LABEL_MISMATCH',
          mismatch
            ? `Wrong label: it says "${mismatch.scanned}", and the device that passed is "${mismatch.expected}".`
            : 'Wrong label.',
        )
      : job.state === 'printed'
        ? undefined
        : problemOf(job.lastErrorCode, job.lastErrorMessage),
  maybePrinted: job.maybePrinted,
  verified,
  mismatch: verified === 'mismatch' ? mismatch : undefined,
});

/** What a slot shows for an attempt's label, read from the log (the newest job, its scan). */
export const slotLabelFor = (db: DatabaseSync, attemptId: number): SlotLabel | undefined => {
  const s = attemptLabelState(db, attemptId);
  if (!s.job) return undefined;
  return slotLabelOf(s.job, s.verified, s.verified === 'mismatch' ? lastMismatch(db, attemptId) : undefined);
};

export const createStationLabels = (o: StationLabelsOptions): StationLabels => {
  const db = o.log.db;
  const listeners = new Set<(e: StationLabelEvent) => void>();
  const tell = (e: StationLabelEvent) => {
    for (const l of listeners)
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the labels.
      }
  };
  const update = (job: LabelJob, change: LabelChange) => {
    const label = slotLabelFor(db, job.attemptId);
    if (label) tell({ attemptId: job.attemptId, deviceId: job.deviceId, change, label });
  };
  const fromLoop = (e: LabelLoopEvent) => {
    if (e.type === 'error') tell({ change: 'error', message: e.message });
    else update(e.job, e.type);
  };
  const loop = createLabelLoop({
    db,
    printer: o.printer ?? labelPrinter(o.template),
    ...(o.backoff ? { backoff: o.backoff } : {}),
    idlePollMs: o.idlePollMs ?? 5_000,
    onEvent: fromLoop,
  });

  return {
    template: o.template,
    scanBack: o.template.scanBack,
    loop,
    onPass(attempt, identity) {
      if (attempt.result !== 'pass' || !attempt.deviceId) return undefined;
      const record = buildLabelRecord({
        deviceId: attempt.deviceId,
        // What identify read (requests 21 and 554, or the listening-mode listing); the attempt
        // holds the same once logged. A device that reports none gets none on its label.
        serial: identity.serialNumber ?? attempt.serialNumber,
        iccid: identity.iccid ?? attempt.iccid,
        productName: o.facts.productName,
        productVersion: o.facts.productVersion,
        lot: o.facts.lot,
        station: o.facts.station,
        at: attempt.finishedAt ? new Date(attempt.finishedAt) : new Date(),
        timeZone: o.facts.timeZone,
      });
      const { job } = enqueueLabel(db, {
        attemptId: attempt.id,
        batchId: attempt.batchId,
        template: o.template,
        record,
      });
      return slotLabelOf(job, null);
    },
    scan(scanned, actor) {
      const r = checkScannedLabel(db, { batchId: o.batchId, scanned, actor });
      if (r.ok) {
        const label = slotLabelFor(db, r.value.attemptId);
        if (label)
          tell({ attemptId: r.value.attemptId, deviceId: r.value.deviceId, change: 'verified', label });
      } else if (r.error.code === 'LABEL_MISMATCH') {
        const attemptId = r.error.details?.attemptId;
        const deviceId = r.error.details?.deviceId;
        const label = typeof attemptId === 'number' ? slotLabelFor(db, attemptId) : undefined;
        if (label && typeof attemptId === 'number' && typeof deviceId === 'string')
          tell({ attemptId, deviceId, change: 'mismatch', label });
      }
      return r;
    },
    view: (attemptId) => slotLabelFor(db, attemptId),
    changed: update,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async printNow(signal) {
      await loop.printDue({ ignoreSchedule: true, ...(signal ? { signal } : {}) });
    },
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
};

/** The label in words, as the CLI's live line and event lines say it after "PASS". */
export const labelWords = (l: SlotLabel): string => {
  if (l.verified === 'mismatch')
    return l.mismatch
      ? `LABEL MISMATCH: the label says ${l.mismatch.scanned}, the device is ${l.mismatch.expected}`
      : 'LABEL MISMATCH';
  if (l.verified === 'verified') return 'label verified';
  switch (l.state) {
    case 'pending':
      return `label pending${l.problem ? ` (${l.problem.title})` : ''}`;
    case 'printed':
      return 'label printed';
    case 'failed':
      return `label not printed: ${l.problem?.title ?? 'failed'}`;
  }
};

/**
 * Event lines for a terminal or a log (`linestation run`): printed and failed labels, a wrong
 * label scanned back, and a printer problem once when it starts, not at every retry. Stateful,
 * one per run.
 */
export const labelEventLines = (): ((
  e: LabelUpdate & { readonly slot: number | undefined },
) => string | undefined) => {
  let waitingOn: string | undefined;
  return (e) => {
    const where = `${e.slot !== undefined ? `slot ${e.slot} ` : ''}${e.deviceId}`;
    const p = e.label.problem;
    switch (e.change) {
      case 'printed': {
        const cleared = waitingOn ? `label printer ready again; ` : '';
        waitingOn = undefined;
        return `${cleared}${where} label printed`;
      }
      case 'waiting':
        if (!p || p.code === waitingOn) return undefined;
        waitingOn = p.code;
        return `labels waiting: ${p.title} (${p.code}). ${p.remedy}`;
      case 'failed':
        return `${where} label not printed: ${p?.title ?? 'failed'} (${p?.code ?? ''}). ${p?.remedy ?? ''}`.trimEnd();
      case 'mismatch':
        return `${where} ${labelWords(e.label)}. ${p?.remedy ?? ''}`.trimEnd();
      case 'verified':
        return `${where} label verified`;
      case 'queued':
        return undefined;
    }
  };
};

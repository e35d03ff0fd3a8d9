import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { fail, LsFailure } from '../errors/result';
import { databasePath } from './data-dir';
import { classifyStoreError, openDatabase } from './database';
import {
  type Acceptance,
  type AttemptOutcome,
  type AttemptRecord,
  type AttemptResult,
  type AuditRecord,
  type BatchRecord,
  type BatchState,
  type EventRecord,
  type FirmwareHash,
  type IdentityDetails,
  type ModuleStep,
  type NewAttempt,
  type NewBatch,
  type ProvisioningMode,
  type RegistrationState,
  type SetupDoneState,
  STEP_COLUMN,
  STEPS,
  type StepName,
} from './records';

export type StationLogErrorCode =
  | 'STORE_READ_ONLY'
  | 'STORE_DISK_FULL'
  | 'STORE_WRITE_FAILED'
  | 'BATCH_EXISTS'
  | 'BATCH_NOT_FOUND'
  | 'BATCH_CLOSED'
  | 'BATCH_BAD_TRANSITION'
  | 'ATTEMPT_NOT_FOUND';

type Row = Record<string, SQLInputValue>;

const STORE_REMEDY: Record<string, string> = {
  STORE_READ_ONLY:
    'Make the data directory writable for this user (or pick another with --data-dir), then start again; everything logged so far is kept.',
  STORE_DISK_FULL:
    'Free space on the disk holding the data directory, then start again; everything logged so far is kept.',
  STORE_WRITE_FAILED: 'Check the data directory and the disk, then start again.',
};

const parseJson = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== 'string' || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;

const toBatch = (r: Row): BatchRecord => ({
  id: Number(r.id),
  lot: String(r.lot),
  product: String(r.product),
  platform: String(r.platform),
  profileName: String(r.profile_name),
  profileHash: String(r.profile_hash),
  mode: String(r.mode) as ProvisioningMode,
  firmware: parseJson<FirmwareHash[]>(r.firmware, []),
  operator: String(r.operator),
  station: String(r.station),
  targetCount: num(r.target_count),
  offline: Number(r.offline) === 1,
  acceptances: parseJson<Acceptance[]>(r.acceptances, []),
  state: String(r.state) as BatchState,
  startedAt: String(r.started_at),
  endedAt: str(r.ended_at),
});

export const toAttempt = (r: Row): AttemptRecord => {
  const stepMs: Partial<Record<StepName, number>> = {};
  for (const s of STEPS) {
    const v = num(r[STEP_COLUMN[s]]);
    if (v !== null) stepMs[s] = v;
  }
  return {
    id: Number(r.id),
    batchId: Number(r.batch_id),
    deviceId: str(r.device_id),
    platform: str(r.platform),
    slot: Number(r.slot),
    portPath: String(r.port_path),
    labelSerial: str(r.label_serial),
    tryNumber: Number(r.try_number),
    result: String(r.result) as AttemptResult,
    step: str(r.step) as StepName | null,
    errorCode: str(r.error_code),
    errorMessage: str(r.error_message),
    errorRemedy: str(r.error_remedy),
    alreadyProvisioned: Number(r.already_provisioned) === 1,
    moduleVersions: parseJson<number[] | null>(r.module_versions, null),
    moduleSteps: parseJson<ModuleStep[]>(r.module_steps, []),
    setupDone: str(r.setup_done) as SetupDoneState | null,
    lineCheck: str(r.line_check),
    serialNumber: str(r.serial_number),
    iccid: str(r.iccid),
    imei: str(r.imei),
    deviceOs: str(r.device_os),
    registrationState: str(r.registration_state) as RegistrationState | null,
    startedAt: String(r.started_at),
    finishedAt: str(r.finished_at),
    durationMs: num(r.duration_ms),
    stepMs,
  };
};

/**
 * The durable batch log. Every method that changes state commits its transaction before it
 * returns, so a caller that notifies listeners after the call has "committed before telling".
 * Write failures surface as LsFailure with STORE_DISK_FULL / STORE_READ_ONLY / STORE_WRITE_FAILED;
 * a failed transaction rolls back whole, so nothing already logged is lost.
 */
export class StationLog {
  readonly db: DatabaseSync;
  private readonly now: () => Date;
  /** Prepared statements by SQL text: compiling SQL costs more than running it. */
  private readonly statements = new Map<string, StatementSync>();
  /** >0 while a group transaction runs: writes nest as savepoints inside it. */
  private groupDepth = 0;
  private queue: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private flushScheduled = false;
  private savepoint = 0;

  constructor(db: DatabaseSync, options: { now?: () => Date } = {}) {
    this.db = db;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Opens `<dataDir>/station.sqlite` and applies migrations. With `recover`, attempts left running
   * are marked interrupted: only the holder of the data folder's station lock may ask for that,
   * since without the lock "running" may mean another live station's attempt.
   */
  static open(
    dataDir: string,
    options: { now?: () => Date; recover?: boolean } = {},
  ): { log: StationLog; recovered: number } {
    const log = new StationLog(openDatabase(databasePath(dataDir)), options);
    const recovered = options.recover ? log.recoverInterrupted() : 0;
    return { log, recovered };
  }

  close(): void {
    // Writes still queued for a group commit run now, so closing never drops them.
    if (this.queue.length > 0 && this.db.isOpen) this.flush();
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  private iso(): string {
    return this.now().toISOString();
  }

  private sql(text: string): StatementSync {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /**
   * Group commit: runs `fn` (any of this class's write methods) together with the other writes
   * queued in the same turn of the event loop, in ONE transaction, and resolves only after that
   * transaction committed. With synchronous=FULL a commit costs an fsync, so many slots writing
   * at once share one fsync instead of queueing for one each, and commit-before-tell still holds:
   * the caller tells its listeners after the promise resolves. Each write is its own savepoint, so
   * one failing write rolls back alone; a failed COMMIT fails every write of the group.
   */
  grouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const items = this.queue;
    this.queue = [];
    if (items.length === 0) return;
    const results: { ok: boolean; value: unknown }[] = [];
    let cause: unknown;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.groupDepth++;
      try {
        for (const item of items) {
          try {
            results.push({ ok: true, value: item.fn() });
          } catch (e) {
            results.push({ ok: false, value: e });
            // SQLITE_FULL and friends roll the whole transaction back: the writes before this one
            // are gone too, so the group fails as one, with this write's error as the cause.
            if (!this.db.isTransaction) {
              cause = e;
              break;
            }
          }
        }
      } finally {
        this.groupDepth--;
      }
      if (cause) throw cause;
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
      const error = this.named(e);
      for (const item of items) item.reject(error);
      return;
    }
    items.forEach((item, i) => {
      const r = results[i];
      if (r?.ok) item.resolve(r.value);
      else item.reject(r?.value);
    });
  }

  private named(e: unknown): unknown {
    if (e instanceof LsFailure) return e;
    const { code, message } = classifyStoreError(e);
    const named = code === 'STORE_OPEN_FAILED' ? 'STORE_WRITE_FAILED' : code;
    return new LsFailure({
      code: named,
      message: message.replace('could not be used', 'could not be written'),
      remedy: STORE_REMEDY[named],
    });
  }

  /** Runs a write in one transaction, turning SQLite failures into named store errors. */
  private write<T>(fn: () => T): T {
    if (this.groupDepth > 0) {
      // Inside a group: a savepoint, so this write can fail alone.
      const name = `w${++this.savepoint}`;
      this.db.exec(`SAVEPOINT ${name}`);
      try {
        const result = fn();
        this.db.exec(`RELEASE ${name}`);
        return result;
      } catch (e) {
        if (this.db.isTransaction) {
          this.db.exec(`ROLLBACK TO ${name}`);
          this.db.exec(`RELEASE ${name}`);
        }
        throw this.named(e);
      }
    }
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (e) {
      // SQLite may already have rolled back (SQLITE_FULL does); a second ROLLBACK would throw
      // and hide the real cause.
      if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
      throw this.named(e);
    }
  }

  // ---- batches ---------------------------------------------------------------------------

  createBatch(input: NewBatch): BatchRecord {
    return this.write(() => {
      if (this.sql('SELECT 1 FROM batches WHERE lot = ?').get(input.lot))
        fail('BATCH_EXISTS', `A batch with lot "${input.lot}" already exists.`, {
          remedy: 'Resume that batch, or use a new lot ID.',
        });
      const at = this.iso();
      const r = this.sql(
        `INSERT INTO batches (lot, product, platform, profile_name, profile_hash, mode, firmware, operator,
             station, target_count, offline, acceptances, state, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      ).run(
        input.lot,
        input.product,
        input.platform,
        input.profileName,
        input.profileHash,
        input.mode,
        JSON.stringify(input.firmware),
        input.operator,
        input.station,
        input.targetCount ?? null,
        input.offline ? 1 : 0,
        JSON.stringify(input.acceptances),
        at,
      );
      const id = Number(r.lastInsertRowid);
      this.insertAudit(input.operator, 'batch-start', id, { lot: input.lot, profileHash: input.profileHash });
      for (const a of input.acceptances) this.insertAudit(a.by, 'accept', id, { item: a.item, note: a.note });
      this.insertEvent(id, null, 'batch-started', { lot: input.lot });
      return this.requireBatchById(id);
    });
  }

  batch(lot: string): BatchRecord | undefined {
    const r = this.sql('SELECT * FROM batches WHERE lot = ?').get(lot) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  requireBatch(lot: string): BatchRecord {
    const b = this.batch(lot);
    if (!b)
      return fail('BATCH_NOT_FOUND', `No batch with lot "${lot}" in this station's log.`, {
        remedy: 'Run "linestation batches" to list the lots this station knows.',
      });
    return b;
  }

  requireBatchById(id: number): BatchRecord {
    const r = this.sql('SELECT * FROM batches WHERE id = ?').get(id) as Row | undefined;
    if (!r) return fail('BATCH_NOT_FOUND', `No batch with id ${id}.`);
    return toBatch(r);
  }

  batches(): BatchRecord[] {
    return (this.sql('SELECT * FROM batches ORDER BY id').all() as Row[]).map(toBatch);
  }

  /**
   * Moves a batch through its lifecycle: running <-> paused, either -> closed. A closed batch is
   * read-only: no transition leaves it, and no attempt can be added to it.
   */
  setBatchState(
    id: number,
    next: BatchState,
    actor: string,
    details: Record<string, unknown> = {},
  ): BatchRecord {
    return this.write(() => {
      const b = this.requireBatchById(id);
      if (b.state === 'closed')
        fail('BATCH_CLOSED', `Batch ${b.lot} is closed and read-only.`, {
          remedy: 'Start a new batch with a new lot ID.',
        });
      if (b.state === next) return b;
      const at = this.iso();
      this.sql('UPDATE batches SET state = ?, ended_at = ? WHERE id = ?').run(
        next,
        next === 'closed' ? at : null,
        id,
      );
      const action = next === 'running' ? 'batch-resume' : next === 'paused' ? 'batch-pause' : 'batch-close';
      this.insertAudit(actor, action, id, details);
      this.insertEvent(id, null, `batch-${next === 'running' ? 'resumed' : next}`, details);
      return this.requireBatchById(id);
    });
  }

  /** Records an engineer's acceptance on a batch (e.g. of an open readiness item mid-batch). */
  addAcceptance(id: number, acceptance: Acceptance): BatchRecord {
    return this.write(() => {
      const b = this.requireBatchById(id);
      if (b.state === 'closed') fail('BATCH_CLOSED', `Batch ${b.lot} is closed and read-only.`);
      this.sql('UPDATE batches SET acceptances = ? WHERE id = ?').run(
        JSON.stringify([...b.acceptances, acceptance]),
        id,
      );
      this.insertAudit(acceptance.by, 'accept', id, { item: acceptance.item, note: acceptance.note });
      return this.requireBatchById(id);
    });
  }

  // ---- attempts --------------------------------------------------------------------------

  startAttempt(a: NewAttempt): AttemptRecord {
    return this.write(() => {
      const b = this.requireBatchById(a.batchId);
      if (b.state === 'closed') fail('BATCH_CLOSED', `Batch ${b.lot} is closed and read-only.`);
      const tryNumber = a.deviceId ? this.triesFor(a.batchId, a.deviceId) + 1 : 1;
      const r = this.sql(
        `INSERT INTO attempts (batch_id, device_id, slot, port_path, label_serial, try_number, result, started_at)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
      ).run(a.batchId, a.deviceId ?? null, a.slot, a.portPath, a.labelSerial ?? null, tryNumber, this.iso());
      const id = Number(r.lastInsertRowid);
      this.insertEvent(a.batchId, id, 'attempt-started', { slot: a.slot, portPath: a.portPath });
      return this.requireAttempt(id);
    });
  }

  /**
   * Records what identify found, with the serial number, ICCID, IMEI and Device OS it read, in one
   * commit; the try number counts this device's attempts in the batch. What could not be read
   * stays NULL and its reasons go into an 'identity-incomplete' event of the same commit.
   */
  setIdentity(
    attemptId: number,
    identity: { deviceId: string; platform: string } & IdentityDetails,
  ): AttemptRecord {
    return this.write(() => {
      const a = this.requireAttempt(attemptId);
      const tryNumber = this.triesFor(a.batchId, identity.deviceId, attemptId) + 1;
      this.sql('UPDATE attempts SET device_id = ?, platform = ?, try_number = ? WHERE id = ?').run(
        identity.deviceId,
        identity.platform,
        tryNumber,
        attemptId,
      );
      this.writeDetails(a.batchId, attemptId, identity);
      return this.requireAttempt(attemptId);
    });
  }

  /**
   * Identity read later than identify (a device found in DFU mode is read once the install has it
   * back in normal mode): fills what it read, keeps what was there.
   */
  setIdentityDetails(attemptId: number, details: IdentityDetails): AttemptRecord {
    return this.write(() => {
      const a = this.requireAttempt(attemptId);
      this.writeDetails(a.batchId, attemptId, details);
      return this.requireAttempt(attemptId);
    });
  }

  private writeDetails(batchId: number, attemptId: number, d: IdentityDetails): void {
    this.sql(
      `UPDATE attempts SET serial_number = COALESCE(?, serial_number), iccid = COALESCE(?, iccid),
           imei = COALESCE(?, imei), device_os = COALESCE(?, device_os) WHERE id = ?`,
    ).run(d.serialNumber ?? null, d.iccid ?? null, d.imei ?? null, d.deviceOs ?? null, attemptId);
    if (d.missing && d.missing.length > 0)
      this.insertEvent(batchId, attemptId, 'identity-incomplete', {
        missing: d.missing.map((m) => ({ field: m.field, cause: m.cause, code: m.code, reason: m.reason })),
      });
  }

  beginStep(attemptId: number, step: StepName): void {
    this.write(() => {
      this.sql('UPDATE attempts SET step = ? WHERE id = ?').run(step, attemptId);
    });
  }

  finishStep(
    attemptId: number,
    step: StepName,
    durationMs: number,
    extra: {
      moduleVersions?: readonly number[] | undefined;
      /** Appended to the attempt's module steps (normal-mode modules, then DFU modules). */
      moduleSteps?: readonly ModuleStep[] | undefined;
      setupDone?: SetupDoneState | undefined;
    } = {},
  ): void {
    this.write(() => {
      const a = this.requireAttempt(attemptId);
      // A step can run twice in one attempt (normal-mode modules before DFU and assets after it;
      // Service Mode in and out): its column holds the total.
      this.sql(
        `UPDATE attempts SET ${STEP_COLUMN[step]} = COALESCE(${STEP_COLUMN[step]}, 0) + ? WHERE id = ?`,
      ).run(Math.round(durationMs), attemptId);
      if (extra.moduleVersions)
        this.sql('UPDATE attempts SET module_versions = ? WHERE id = ?').run(
          JSON.stringify(extra.moduleVersions),
          attemptId,
        );
      if (extra.moduleSteps && extra.moduleSteps.length > 0)
        this.sql('UPDATE attempts SET module_steps = ? WHERE id = ?').run(
          JSON.stringify([...a.moduleSteps, ...extra.moduleSteps]),
          attemptId,
        );
      if (extra.setupDone)
        this.sql('UPDATE attempts SET setup_done = ? WHERE id = ?').run(extra.setupDone, attemptId);
      this.insertEvent(a.batchId, attemptId, 'step-finished', { step, ms: Math.round(durationMs) });
    });
  }

  finishAttempt(attemptId: number, outcome: AttemptOutcome): AttemptRecord {
    return this.write(() => {
      const a = this.requireAttempt(attemptId);
      if (a.result !== 'running') return a;
      const finished = this.now();
      const duration = Math.max(0, finished.getTime() - Date.parse(a.startedAt));
      this.sql(
        `UPDATE attempts SET result = ?, step = COALESCE(?, step), error_code = ?, error_message = ?,
             error_remedy = ?, registration_state = ?, already_provisioned = ?, finished_at = ?, duration_ms = ?
           WHERE id = ?`,
      ).run(
        outcome.result,
        outcome.step ?? null,
        outcome.error?.code ?? null,
        outcome.error?.message ?? null,
        outcome.error?.remedy ?? null,
        outcome.registrationState ?? null,
        outcome.alreadyProvisioned ? 1 : 0,
        finished.toISOString(),
        duration,
        attemptId,
      );
      this.insertEvent(a.batchId, attemptId, `attempt-${outcome.result}`, {
        step: outcome.step ?? a.step,
        code: outcome.error?.code,
      });
      return this.requireAttempt(attemptId);
    });
  }

  /** What the line-database check at identify found, or why it was skipped. */
  setLineCheck(attemptId: number, check: string): void {
    this.write(() => {
      this.sql('UPDATE attempts SET line_check = ? WHERE id = ?').run(check, attemptId);
    });
  }

  /** Pairs a printed label serial with an attempt (a scanned label goes with the device that passed). */
  setLabelSerial(attemptId: number, labelSerial: string): AttemptRecord {
    return this.write(() => {
      const a = this.requireAttempt(attemptId);
      this.sql('UPDATE attempts SET label_serial = ? WHERE id = ?').run(labelSerial, attemptId);
      this.insertEvent(a.batchId, attemptId, 'label-paired', { labelSerial });
      return this.requireAttempt(attemptId);
    });
  }

  /** Crash recovery: attempts still "running" belong to a process that is gone. */
  recoverInterrupted(): number {
    const running = this.sql(
      "SELECT id, batch_id, step FROM attempts WHERE result = 'running'",
    ).all() as Row[];
    if (running.length === 0) return 0;
    return this.write(() => {
      const at = this.iso();
      for (const r of running) {
        this.sql(
          `UPDATE attempts SET result = 'interrupted', error_code = 'INTERRUPTED',
               error_message = 'The station stopped while this attempt was running.',
               error_remedy = 'Re-seat the device and run it again.', finished_at = ?,
               duration_ms = MAX(0, CAST((julianday(?) - julianday(started_at)) * 86400000 AS INTEGER))
             WHERE id = ?`,
        ).run(at, at, r.id as number);
        this.insertEvent(Number(r.batch_id), Number(r.id), 'attempt-interrupted', {
          step: r.step,
          recovered: true,
        });
      }
      return running.length;
    });
  }

  requireAttempt(id: number): AttemptRecord {
    const r = this.sql('SELECT * FROM attempts WHERE id = ?').get(id) as Row | undefined;
    if (!r) return fail('ATTEMPT_NOT_FOUND', `No attempt with id ${id}.`);
    return toAttempt(r);
  }

  attempts(batchId: number): AttemptRecord[] {
    return (this.sql('SELECT * FROM attempts WHERE batch_id = ? ORDER BY id').all(batchId) as Row[]).map(
      toAttempt,
    );
  }

  /** Streams a batch's attempts without materialising them all (exports of 100k rows). */
  *iterateAttempts(batchId: number): Generator<AttemptRecord> {
    for (const r of this.sql('SELECT * FROM attempts WHERE batch_id = ? ORDER BY id').iterate(batchId))
      yield toAttempt(r as Row);
  }

  /** Whether this device already has a PASS in the batch. */
  hasPassed(batchId: number, deviceId: string): boolean {
    return Boolean(
      this.sql("SELECT 1 FROM attempts WHERE batch_id = ? AND device_id = ? AND result = 'pass' LIMIT 1").get(
        batchId,
        deviceId,
      ),
    );
  }

  /** Distinct devices with a PASS in the batch. */
  passedCount(batchId: number): number {
    const r = this.sql(
      "SELECT COUNT(DISTINCT device_id) AS n FROM attempts WHERE batch_id = ? AND result = 'pass'",
    ).get(batchId) as Row;
    return Number(r.n);
  }

  private triesFor(batchId: number, deviceId: string, excludeId = -1): number {
    const r = this.sql(
      'SELECT COUNT(*) AS n FROM attempts WHERE batch_id = ? AND device_id = ? AND id != ?',
    ).get(batchId, deviceId, excludeId) as Row;
    return Number(r.n);
  }

  // ---- events and audit ------------------------------------------------------------------

  recordEvent(
    batchId: number | null,
    attemptId: number | null,
    type: string,
    data: Record<string, unknown> = {},
  ): void {
    this.write(() => this.insertEvent(batchId, attemptId, type, data));
  }

  recordAudit(
    actor: string,
    action: string,
    batchId: number | null,
    details: Record<string, unknown> = {},
  ): void {
    this.write(() => this.insertAudit(actor, action, batchId, details));
  }

  events(batchId: number): EventRecord[] {
    return (this.sql('SELECT * FROM events WHERE batch_id = ? ORDER BY id').all(batchId) as Row[]).map(
      (r) => ({
        id: Number(r.id),
        batchId: num(r.batch_id),
        attemptId: num(r.attempt_id),
        at: String(r.at),
        type: String(r.type),
        data: parseJson<Record<string, unknown>>(r.data, {}),
      }),
    );
  }

  audit(batchId?: number): AuditRecord[] {
    const rows = (
      batchId === undefined
        ? this.sql('SELECT * FROM audit_log ORDER BY id').all()
        : this.sql('SELECT * FROM audit_log WHERE batch_id = ? ORDER BY id').all(batchId)
    ) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      at: String(r.at),
      actor: String(r.actor),
      action: String(r.action),
      batchId: num(r.batch_id),
      details: parseJson<Record<string, unknown>>(r.details, {}),
    }));
  }

  private insertEvent(
    batchId: number | null,
    attemptId: number | null,
    type: string,
    data: Record<string, unknown>,
  ): void {
    this.sql('INSERT INTO events (batch_id, attempt_id, at, type, data) VALUES (?, ?, ?, ?, ?)').run(
      batchId,
      attemptId,
      this.iso(),
      type,
      JSON.stringify(data),
    );
  }

  private insertAudit(
    actor: string,
    action: string,
    batchId: number | null,
    details: Record<string, unknown>,
  ): void {
    this.sql('INSERT INTO audit_log (at, actor, action, batch_id, details) VALUES (?, ?, ?, ?, ?)').run(
      this.iso(),
      actor,
      action,
      batchId,
      JSON.stringify(details),
    );
  }
}

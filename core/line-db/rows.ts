import type { DatabaseSync } from 'node:sqlite';
import { LABEL_STATE_SQL, moduleHashesCell, moduleStepsCell } from '../store/export';
import type { LineFeedEntry, LineFeedKind } from '../store/line-feed';
import type { FirmwareHash, ProvisioningMode } from '../store/records';
import { LINE_SCHEMA } from './schema';

/*
 * What the forwarder sends for each kind of change: the row as the station log holds it now,
 * keyed by (station_id, the row's local id), with `seq`, the station's sequence number of the
 * newest change it carries. The key is the same on every resend and the upsert keeps the row with
 * the higher seq, so a resend after a lost acknowledgement changes nothing and an older copy can
 * never overwrite a newer one.
 */

export interface LineColumn {
  readonly name: string;
  /** PostgreSQL type, as the JSON value is read into it. */
  readonly type: string;
}

export interface LineTable {
  readonly kind: LineFeedKind;
  readonly table: string;
  readonly key: string;
  readonly columns: readonly LineColumn[];
}

const col = (spec: string): LineColumn[] =>
  spec
    .trim()
    .split(/\s*,\s*/)
    .map((c) => {
      const [name = '', type = 'text'] = c.split(/\s+/);
      return { name, type };
    });

export const LINE_TABLES: Readonly<Record<LineFeedKind, LineTable>> = {
  batch: {
    kind: 'batch',
    table: `${LINE_SCHEMA}.batches`,
    key: 'batch_id',
    columns: col(`batch_id bigint, lot, product, platform, profile_name, profile_hash, mode, firmware jsonb,
      operator, station, target_count integer, offline boolean, acceptances jsonb, state,
      started_at timestamptz, ended_at timestamptz`),
  },
  attempt: {
    kind: 'attempt',
    table: `${LINE_SCHEMA}.attempts`,
    key: 'attempt_id',
    columns: col(`attempt_id bigint, batch_id bigint, lot, product, device_id, platform, slot integer,
      port_path, label_serial, try_number integer, operator, station, mode, profile_hash, module_hashes,
      result, already_provisioned boolean, step, error_code, error_message, error_remedy,
      started_at timestamptz, finished_at timestamptz, duration_ms bigint, identify_ms integer,
      ensure_dfu_ms integer, flash_ms integer, leave_ms integer, confirm_ms integer, register_ms integer,
      registration_state, normal_update_ms integer, setup_done_ms integer, setup_done, module_steps,
      module_versions jsonb, line_check, service_mode_ms integer, label_verified, label_state,
      serial_number, iccid, imei, device_os`),
  },
  registration: {
    kind: 'registration',
    table: `${LINE_SCHEMA}.registrations`,
    key: 'registration_id',
    columns: col(`registration_id bigint, product_id, device_id, action, settings jsonb, state, outcome,
      attempts integer, last_error_code, last_error_message, created_at timestamptz,
      updated_at timestamptz, done_at timestamptz`),
  },
  audit: {
    kind: 'audit',
    table: `${LINE_SCHEMA}.audit_log`,
    key: 'audit_id',
    columns: col('audit_id bigint, at timestamptz, actor, action, batch_id bigint, lot, details jsonb'),
  },
};

export type LineRow = Record<string, unknown> & { seq: number };

/** The rows one pass forwards, by kind, each once with the newest seq among its changes. */
export interface LineChunk {
  readonly rows: Readonly<Record<LineFeedKind, LineRow[]>>;
  /** The newest change the chunk covers: acknowledged once the line database committed it. */
  readonly upToSeq: number;
  /** Changes covered (entries of the feed). */
  readonly changes: number;
  /** Lots the chunk touches, for the NOTIFY payload. */
  readonly lots: readonly string[];
}

type Raw = Record<string, unknown>;

const json = (v: unknown, fallback: unknown): unknown => {
  if (typeof v !== 'string' || v === '') return fallback;
  try {
    return JSON.parse(v);
  } catch {
    return fallback;
  }
};
const n = (v: unknown): number | null =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : null;

const idsOf = (entries: readonly LineFeedEntry[], kind: LineFeedKind): Map<number, number> => {
  const out = new Map<number, number>();
  for (const e of entries) if (e.kind === kind) out.set(e.rowId, Math.max(out.get(e.rowId) ?? 0, e.seq));
  return out;
};

const select = (db: DatabaseSync, sql: string, ids: Map<number, number>): Raw[] =>
  ids.size === 0 ? [] : (db.prepare(sql).all(JSON.stringify([...ids.keys()])) as Raw[]);

// The same rule as the export (core/store/outbox.ts registrationStateOf): a PASS shows its
// registration as the outbox holds it now. Failed or blocked as soon as a main entry (import,
// update, groups, settings) is, blocked also for a blocked SIM entry; queued while anything is
// pending; sim-failed when only the SIM failed; registered when everything was acknowledged.
const LIVE_REGISTRATION = `CASE WHEN a.result = 'pass' AND a.device_id IS NOT NULL THEN COALESCE((
    SELECT CASE
             WHEN SUM(o.action <> 'sim' AND o.state = 'failed') > 0 THEN 'failed'
             WHEN SUM(o.state = 'blocked') > 0 THEN 'blocked'
             WHEN SUM(o.state = 'pending') > 0 THEN 'queued'
             WHEN SUM(o.action = 'sim' AND o.state = 'failed') > 0 THEN 'sim-failed'
             ELSE 'registered' END
      FROM outbox o WHERE o.product_id = b.product AND o.device_id = a.device_id
      HAVING COUNT(*) > 0), a.registration_state)
  ELSE a.registration_state END`;

/**
 * Reads the rows behind a run of feed entries, in one SQLite read transaction so they are one
 * consistent snapshot (another process may be writing the log). A row deleted since its change
 * (an outbox entry pruned) is skipped: the line database keeps its last copy.
 */
export const readChunk = (db: DatabaseSync, entries: readonly LineFeedEntry[]): LineChunk => {
  const rows: Record<LineFeedKind, LineRow[]> = { batch: [], attempt: [], registration: [], audit: [] };
  const lots = new Set<string>();
  const own = !db.isTransaction;
  if (own) db.exec('BEGIN');
  try {
    const batchIds = idsOf(entries, 'batch');
    for (const r of select(
      db,
      'SELECT * FROM batches WHERE id IN (SELECT value FROM json_each(?))',
      batchIds,
    )) {
      const id = Number(r.id);
      lots.add(String(r.lot));
      rows.batch.push({
        seq: batchIds.get(id) ?? 0,
        batch_id: id,
        lot: r.lot,
        product: r.product,
        platform: r.platform,
        profile_name: r.profile_name,
        profile_hash: r.profile_hash,
        mode: r.mode,
        firmware: json(r.firmware, []),
        operator: r.operator,
        station: r.station,
        target_count: n(r.target_count),
        offline: Number(r.offline) === 1,
        acceptances: json(r.acceptances, []),
        state: r.state,
        started_at: r.started_at,
        ended_at: r.ended_at ?? null,
      });
    }

    const attemptIds = idsOf(entries, 'attempt');
    const hashes = new Map<number, string>();
    for (const r of select(
      db,
      `SELECT a.*, b.lot AS b_lot, b.product AS b_product, b.operator AS b_operator, b.station AS b_station,
              b.mode AS b_mode, b.profile_hash AS b_profile_hash, b.firmware AS b_firmware,
              ${LIVE_REGISTRATION} AS live_registration, ${LABEL_STATE_SQL} AS live_label_state
         FROM attempts a JOIN batches b ON b.id = a.batch_id
        WHERE a.id IN (SELECT value FROM json_each(?))`,
      attemptIds,
    )) {
      const id = Number(r.id);
      const batchId = Number(r.batch_id);
      let moduleHashes = hashes.get(batchId);
      if (moduleHashes === undefined) {
        moduleHashes = moduleHashesCell({
          mode: r.b_mode as ProvisioningMode,
          firmware: json(r.b_firmware, []) as FirmwareHash[],
        });
        hashes.set(batchId, moduleHashes);
      }
      lots.add(String(r.b_lot));
      rows.attempt.push({
        seq: attemptIds.get(id) ?? 0,
        attempt_id: id,
        batch_id: batchId,
        lot: r.b_lot,
        product: r.b_product,
        device_id: r.device_id ?? null,
        platform: r.platform ?? null,
        slot: n(r.slot),
        port_path: r.port_path,
        label_serial: r.label_serial ?? null,
        try_number: n(r.try_number),
        operator: r.b_operator,
        station: r.b_station,
        mode: r.b_mode,
        profile_hash: r.b_profile_hash,
        module_hashes: moduleHashes,
        result: r.result,
        already_provisioned: Number(r.already_provisioned) === 1,
        step: r.step ?? null,
        error_code: r.error_code ?? null,
        error_message: r.error_message ?? null,
        error_remedy: r.error_remedy ?? null,
        started_at: r.started_at,
        finished_at: r.finished_at ?? null,
        duration_ms: n(r.duration_ms),
        identify_ms: n(r.identify_ms),
        ensure_dfu_ms: n(r.ensure_dfu_ms),
        flash_ms: n(r.flash_ms),
        leave_ms: n(r.leave_ms),
        confirm_ms: n(r.confirm_ms),
        register_ms: n(r.register_ms),
        registration_state: r.live_registration ?? null,
        normal_update_ms: n(r.normal_update_ms),
        setup_done_ms: n(r.setup_done_ms),
        setup_done: r.setup_done ?? null,
        module_steps: moduleStepsCell((r.module_steps as string | null) ?? null),
        module_versions: json(r.module_versions, null),
        line_check: r.line_check ?? null,
        service_mode_ms: n(r.service_mode_ms),
        label_verified: r.label_verified ?? null,
        label_state: r.live_label_state ?? null,
        serial_number: r.serial_number ?? null,
        iccid: r.iccid ?? null,
        imei: r.imei ?? null,
        device_os: r.device_os ?? null,
      });
    }

    const regIds = idsOf(entries, 'registration');
    for (const r of select(db, 'SELECT * FROM outbox WHERE id IN (SELECT value FROM json_each(?))', regIds)) {
      const id = Number(r.id);
      rows.registration.push({
        seq: regIds.get(id) ?? 0,
        registration_id: id,
        product_id: r.product_id,
        device_id: r.device_id,
        action: r.action,
        settings: json(r.payload, {}),
        state: r.state,
        outcome: r.outcome ?? null,
        attempts: n(r.attempts),
        last_error_code: r.last_error_code ?? null,
        last_error_message: r.last_error_message ?? null,
        created_at: r.created_at,
        updated_at: r.updated_at,
        done_at: r.done_at ?? null,
      });
    }

    const auditIds = idsOf(entries, 'audit');
    for (const r of select(
      db,
      `SELECT l.*, b.lot AS b_lot FROM audit_log l LEFT JOIN batches b ON b.id = l.batch_id
        WHERE l.id IN (SELECT value FROM json_each(?))`,
      auditIds,
    )) {
      const id = Number(r.id);
      rows.audit.push({
        seq: auditIds.get(id) ?? 0,
        audit_id: id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        batch_id: n(r.batch_id),
        lot: r.b_lot ?? null,
        details: json(r.details, {}),
      });
    }
  } finally {
    if (own && db.isTransaction) db.exec('COMMIT');
  }
  const last = entries[entries.length - 1];
  return { rows, upToSeq: last ? last.seq : 0, changes: entries.length, lots: [...lots] };
};

/**
 * One statement per kind: the rows travel as one JSON parameter, are typed by json_to_recordset
 * and upserted on the (station_id, local id) key; a row already holding a newer change is kept.
 */
export const upsertSql = (t: LineTable): string => {
  const names = t.columns.map((c) => c.name);
  const recordset = ['seq bigint', ...t.columns.map((c) => `${c.name} ${c.type}`)].join(', ');
  const updates = ['seq', ...names.filter((c) => c !== t.key)].map((c) => `${c} = excluded.${c}`);
  return `INSERT INTO ${t.table} AS t (station_id, seq, ${names.join(', ')})
    SELECT $1::uuid, r.seq, ${names.map((c) => `r.${c}`).join(', ')}
      FROM json_to_recordset($2::json) AS r(${recordset})
    ON CONFLICT (station_id, ${t.key}) DO UPDATE SET ${updates.join(', ')}, forwarded_at = now()
    WHERE t.seq <= excluded.seq`;
};

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { fail } from '../errors/result';
import { registrationStates } from './outbox';
import type { BatchRecord, ModuleStep } from './records';
import type { StationLog } from './station-log';

export type ExportFormat = 'csv' | 'json';

/** One row per attempt; the column order is the CSV header and part of the format's contract. */
export const EXPORT_COLUMNS = [
  'lot',
  'attempt_id',
  'device_id',
  'platform',
  'slot',
  'port_path',
  'label_serial',
  'try_number',
  'operator',
  'station',
  'mode',
  'profile_hash',
  'module_hashes',
  'result',
  'already_provisioned',
  'error_code',
  'error_message',
  'started_at',
  'finished_at',
  'duration_ms',
  'identify_ms',
  'ensure_dfu_ms',
  'flash_ms',
  'leave_ms',
  'confirm_ms',
  'register_ms',
  'registration_state',
  // Added with the whole Device OS set; appended so positional readers of older exports still work.
  'normal_update_ms',
  'setup_done_ms',
  'setup_done',
  'module_steps',
  // The line-database check at identify (docs/line.md); appended like the columns above.
  'line_check',
  // Lifting Device Protection for the install (Service Mode) and putting it back.
  'service_mode_ms',
  // The printed label (docs/labels.md): the scan-back check ('verified', 'mismatch', empty when not
  // scanned) and the newest label job's state ('pending', 'printed', 'failed', empty without one).
  'label_verified',
  'label_state',
  // What identify read besides the device ID (docs/devices.md, "Identity"); empty where the device
  // could not tell, with the reason in the attempt's events.
  'serial_number',
  'iccid',
  'imei',
  'device_os',
] as const;
export type ExportColumn = (typeof EXPORT_COLUMNS)[number];
export type ExportRow = Record<ExportColumn, string | number | boolean | null>;

/**
 * RFC 4180 quoting, plus a leading apostrophe on text that a spreadsheet would run as a formula
 * (an error message starting with "=" must not become a live formula in the QA office).
 */
export const csvCell = (v: string | number | boolean | null): string => {
  if (v === null) return '';
  if (typeof v !== 'string') return String(v);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** Module hashes as `name=sha256` joined by ';' (only flash-on-line batches write modules). */
export const moduleHashesCell = (batch: Pick<BatchRecord, 'mode' | 'firmware'>): string =>
  batch.mode === 'flash-on-line' ? batch.firmware.map((f) => `${f.name}=${f.sha256}`).join(';') : '';

/**
 * Each module's path and outcome, in the order they ran, as `name@path:outcome:ms` joined by ';'
 * (e.g. `bootloader.bin@normal:written:4120;user.bin@dfu:written:310`). Empty when nothing ran.
 */
export const moduleStepsCell = (json: string | number | null): string | null => {
  if (typeof json !== 'string') return null;
  const steps = JSON.parse(json) as ModuleStep[];
  return steps.length === 0 ? null : steps.map((m) => `${m.name}@${m.path}:${m.outcome}:${m.ms}`).join(';');
};

/**
 * The registration state of every device of a product as the outbox holds it now: a PASS logged
 * as "queued" shows "registered" in a later export once the cloud acknowledged it, and
 * "sim-failed" when everything went through but its SIM (the same rule as the station's
 * registrationState). One query, so large exports stay fast. Empty when the outbox table does not
 * exist.
 */
export const outboxStates = (log: StationLog, productId: string): Map<string, string> => {
  let states: Map<string, string>;
  try {
    states = registrationStates(log.db, productId);
  } catch {
    return new Map();
  }
  for (const [id, s] of states) if (s === 'none') states.delete(id);
  return states;
};

/** An attempt's label as its newest job says (a reprint supersedes the print); `a` is the attempt. */
export const LABEL_STATE_SQL =
  '(SELECT j.state FROM label_jobs j WHERE j.attempt_id = a.id ORDER BY j.id DESC LIMIT 1)';

/**
 * Writes a batch's attempts to `sink` in chunks, streaming from SQLite so 100k rows never sit in
 * memory as objects at once. Returns the number of rows.
 */
export const writeExport = (
  log: StationLog,
  batch: BatchRecord,
  format: ExportFormat,
  sink: (chunk: string) => void,
): number => {
  const hashes = moduleHashesCell(batch);
  const live = outboxStates(log, batch.product);
  // Straight from SQL to text, one array per row in EXPORT_COLUMNS order: no intermediate
  // objects, so 100k rows export in about a second.
  const stmt = log.db.prepare(
    `SELECT id, device_id, platform, slot, port_path, label_serial, try_number, result, already_provisioned,
       error_code, error_message, started_at, finished_at, duration_ms, identify_ms, ensure_dfu_ms, flash_ms,
       leave_ms, confirm_ms, register_ms, registration_state, normal_update_ms, setup_done_ms, setup_done,
       module_steps, line_check, service_mode_ms, label_verified, ${LABEL_STATE_SQL} AS label_state,
       serial_number, iccid, imei, device_os
     FROM attempts a WHERE batch_id = ? ORDER BY id`,
  );
  stmt.setReturnArrays(true);
  const head = [batch.lot, batch.operator, batch.station, batch.mode, batch.profileHash, hashes];
  const csvHead = head.map(csvCell);
  let buf = format === 'csv' ? `${EXPORT_COLUMNS.join(',')}\r\n` : '[';
  let rows = 0;
  for (const raw of stmt.iterate(batch.id)) {
    const r = raw as unknown as (string | number | null)[];
    const deviceId = r[1] as string | null;
    const result = r[7] as string;
    const registration = (result === 'pass' && deviceId ? live.get(deviceId) : undefined) ?? r[20] ?? null;
    const cells: (string | number | boolean | null)[] = [
      batch.lot,
      r[0] ?? null,
      deviceId,
      r[2] ?? null,
      r[3] ?? null,
      r[4] ?? null,
      r[5] ?? null,
      r[6] ?? null,
      batch.operator,
      batch.station,
      batch.mode,
      batch.profileHash,
      hashes,
      result,
      r[8] === 1,
      r[9] ?? null,
      r[10] ?? null,
      r[11] ?? null,
      r[12] ?? null,
      r[13] ?? null,
      r[14] ?? null,
      r[15] ?? null,
      r[16] ?? null,
      r[17] ?? null,
      r[18] ?? null,
      r[19] ?? null,
      registration,
      r[21] ?? null,
      r[22] ?? null,
      r[23] ?? null,
      moduleStepsCell(r[24] ?? null),
      r[25] ?? null,
      r[26] ?? null,
      r[27] ?? null,
      r[28] ?? null,
      r[29] ?? null,
      r[30] ?? null,
      r[31] ?? null,
      r[32] ?? null,
    ];
    if (format === 'csv') {
      let line = '';
      for (let i = 0; i < cells.length; i++) {
        const c = cells[i] ?? null;
        // The batch-level cells are the same on every row: quote them once.
        const text = i === 0 ? csvHead[0] : i >= 8 && i <= 12 ? csvHead[i - 7] : csvCell(c);
        line += i === 0 ? text : `,${text}`;
      }
      buf += `${line}\r\n`;
    } else {
      const obj: Record<string, unknown> = {};
      EXPORT_COLUMNS.forEach((col, i) => {
        obj[col] = cells[i] ?? null;
      });
      buf += `${rows === 0 ? '\n' : ',\n'}${JSON.stringify(obj)}`;
    }
    rows++;
    if (buf.length > 1 << 20) {
      sink(buf);
      buf = '';
    }
  }
  if (format === 'json') buf += rows === 0 ? ']\n' : '\n]\n';
  sink(buf);
  return rows;
};

/**
 * Exports to a file atomically (written beside it, then renamed), so a reader never sees half
 * an export and a failed export never clobbers a good one.
 */
export const exportToFile = (log: StationLog, lot: string, format: ExportFormat, file: string): number => {
  const batch = log.requireBatch(lot);
  const tmp = `${file}.partial`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    return fail('EXPORT_WRITE_FAILED', `Cannot write the export to ${file}: ${(e as Error).message}`, {
      remedy: 'Pick a writable folder with --out.',
    });
  }
  try {
    const rows = writeExport(log, batch, format, (chunk) => {
      writeSync(fd, chunk);
    });
    closeSync(fd);
    renameSync(tmp, file);
    return rows;
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    // A half-written file beside the destination (a full disk, a directory as --out) helps nobody
    // and would be mistaken for an export.
    rmSync(tmp, { force: true });
    return fail('EXPORT_WRITE_FAILED', `Cannot write the export to ${file}: ${(e as Error).message}`, {
      remedy: 'Check free space and permissions of the destination.',
    });
  }
};

/** Parses one CSV line produced by `writeExport` (used by tests and re-import tools). */
export const parseCsvLine = (line: string): string[] => {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      i++;
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
};

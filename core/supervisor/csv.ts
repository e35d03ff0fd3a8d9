import type pg from 'pg';
import { LINE_SCHEMA } from '../line-db/schema';
import { csvCell, EXPORT_COLUMNS } from '../store/export';

/*
 * The line's attempts as CSV: the station export's columns in its order and with its cell rules
 * (csvCell: RFC 4180, formula-looking text defused), then `station_id`, since attempt IDs are
 * only unique within a station. Streamed page by page in one snapshot, so a million rows never
 * sit in memory.
 */

export const LINE_CSV_COLUMNS = [...EXPORT_COLUMNS, 'station_id'] as const;

const PAGE = 5000;

/** Times as the station's export writes them: ISO 8601 UTC with milliseconds. */
const ts = (c: string) => `to_char(a.${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const selectList = LINE_CSV_COLUMNS.map((c) => {
  if (c === 'started_at' || c === 'finished_at') return ts(c);
  if (c === 'station_id') return 'a.station_id::text';
  if (c === 'already_provisioned') return 'coalesce(a.already_provisioned, false)';
  return `a.${c}`;
}).join(', ');

export interface CsvOptions {
  /** Only this lot's attempts. */
  readonly lot?: string | undefined;
  /** Told each chunk of text; resolves when the reader is ready for more (backpressure). */
  readonly write: (chunk: string) => Promise<void> | void;
  /** Stop early (the browser went away). */
  readonly signal?: AbortSignal | undefined;
}

/** Streams the attempts in (station_id, attempt_id) order; returns the rows written. */
export const streamAttemptsCsv = async (client: pg.ClientBase, o: CsvOptions): Promise<number> => {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await o.write(`${LINE_CSV_COLUMNS.join(',')}\r\n`);
    let rows = 0;
    let after: [string, string] = ['00000000-0000-0000-0000-000000000000', '-1'];
    for (;;) {
      if (o.signal?.aborted) break;
      const params: unknown[] = [after[0], after[1]];
      if (o.lot !== undefined) params.push(o.lot);
      const r = await client.query<unknown[]>({
        text: `SELECT ${selectList}, a.attempt_id::text
                 FROM ${LINE_SCHEMA}.attempts a
                WHERE (a.station_id, a.attempt_id) > ($1::uuid, $2::bigint) ${o.lot !== undefined ? 'AND a.lot = $3' : ''}
                ORDER BY a.station_id, a.attempt_id LIMIT ${PAGE}`,
        values: params,
        rowMode: 'array',
      });
      if (r.rows.length === 0) break;
      let buf = '';
      for (const row of r.rows) {
        let line = '';
        for (let i = 0; i < LINE_CSV_COLUMNS.length; i++) {
          const v = row[i];
          const cell = csvCell(
            v === null || v === undefined
              ? null
              : typeof v === 'boolean' || typeof v === 'number'
                ? v
                : typeof v === 'object'
                  ? JSON.stringify(v)
                  : String(v),
          );
          line += i === 0 ? cell : `,${cell}`;
        }
        buf += `${line}\r\n`;
      }
      rows += r.rows.length;
      const last = r.rows[r.rows.length - 1] ?? [];
      after = [String(last[LINE_CSV_COLUMNS.length - 1]), String(last[LINE_CSV_COLUMNS.length])];
      await o.write(buf);
      if (r.rows.length < PAGE) break;
    }
    return rows;
  } finally {
    await client.query('COMMIT').catch(() => undefined);
  }
};

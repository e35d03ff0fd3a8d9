import { describe, expect, it } from 'vitest';
import { LINE_TABLES, upsertSql } from '../../core/line-db/rows';
import { LINE_MIGRATIONS } from '../../core/line-db/schema';
import { EXPORT_COLUMNS } from '../../core/store/export';
import { STEP_COLUMN } from '../../core/store/records';

/*
 * The line database holds every column of the export. A column added to the export without its
 * line migration and rows.ts entry fails here, without needing PostgreSQL.
 */
describe('the rows the forwarder sends', () => {
  it('carry every export column and every step duration', () => {
    const sent = new Set(LINE_TABLES.attempt.columns.map((c) => c.name));
    expect(EXPORT_COLUMNS.filter((c) => !sent.has(c))).toEqual([]);
    expect(Object.values(STEP_COLUMN).filter((c) => !sent.has(c))).toEqual([]);
  });

  it('are written by a line migration', () => {
    const ddl = LINE_MIGRATIONS.map((m) => m.sql).join('\n');
    for (const t of Object.values(LINE_TABLES))
      for (const c of t.columns)
        expect({ table: t.table, column: c.name, inSchema: ddl.includes(c.name) }).toEqual({
          table: t.table,
          column: c.name,
          inSchema: true,
        });
  });

  it('upsert on (station_id, local id), keeping the copy with the newer change', () => {
    const sql = upsertSql(LINE_TABLES.attempt);
    expect(sql).toContain('ON CONFLICT (station_id, attempt_id) DO UPDATE');
    expect(sql).toContain('WHERE t.seq <= excluded.seq');
    expect(sql).not.toMatch(/attempt_id = excluded\.attempt_id/);
  });
});

import { describe, expect, it } from 'vitest';
import { LINE_TABLES, readChunk, upsertSql } from '../../core/line-db/rows';
import { LINE_MIGRATIONS } from '../../core/line-db/schema';
import { EXPORT_COLUMNS } from '../../core/store/export';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import { STEP_COLUMN } from '../../core/store/records';
import { newBatch, openLog } from '../store/helpers';

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

  it('carry the identity read at identify, and the registration as the export shows it (sim-failed too)', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    const device = 'e00fce68dddddddddddddddd';
    log.setIdentity(a.id, {
      deviceId: device,
      platform: 'boron',
      serialNumber: 'S013LS612ABCDEF',
      iccid: '89883030000000000017',
      imei: '352753090000001',
      deviceOs: '6.2.1',
    });
    enqueueRegistration(log.db, {
      productId: b.product,
      deviceId: device,
      importSims: true,
      iccid: '89883030000000000017',
    });
    log.finishAttempt(a.id, { result: 'pass', step: 'register', registrationState: 'queued' });
    const row = () => readChunk(log.db, [{ seq: 1, kind: 'attempt', rowId: a.id }]).rows.attempt[0];
    expect(row()).toMatchObject({
      serial_number: 'S013LS612ABCDEF',
      iccid: '89883030000000000017',
      imei: '352753090000001',
      device_os: '6.2.1',
      registration_state: 'queued',
    });
    settleOutbox(
      log.db,
      listOutbox(log.db).map((e) =>
        e.action === 'sim'
          ? { id: e.id, state: 'failed' as const, code: 'CLOUD_SIM_REJECTED', message: 'another account' }
          : { id: e.id, state: 'done' as const, outcome: 'imported' },
      ),
    );
    // Not 'failed': the device is in the product, only its SIM is not.
    expect(row()?.registration_state).toBe('sim-failed');
    log.close();
  });
});

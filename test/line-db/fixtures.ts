import type { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { createForwarder, type ForwarderOptions } from '../../core/line-db/forwarder';
import { LINE_SCHEMA } from '../../core/line-db/schema';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import type { StationLog } from '../../core/store/station-log';
import { newBatch } from '../store/helpers';

/** A forwarder with test timings: quick polls and retries, nothing random. */
export const testForwarder = (
  o: Omit<ForwarderOptions, 'station'> & { station?: ForwarderOptions['station'] },
) =>
  createForwarder({
    idlePollMs: 20,
    heartbeatMs: 200,
    backoff: { baseMs: 20, maxMs: 200 },
    configBackoff: { baseMs: 50, maxMs: 300 },
    random: () => 0.5,
    station: { id: '00000000-0000-4000-8000-000000000001', name: 'B-1' },
    ...o,
  });

let deviceCounter = 0;
export const deviceId = (n = ++deviceCounter): string => `e00fce68${n.toString(16).padStart(16, '0')}`;

/**
 * Writes one of everything the line database holds: a batch, a PASS (registered through the
 * outbox), a FAIL, a skipped attempt, an audit entry, a state change. Returns the batch id.
 */
export const writeHistory = (log: StationLog, lot = 'LOT-1'): number => {
  const batch = log.createBatch(newBatch({ lot }));
  const pass = log.startAttempt({ batchId: batch.id, slot: 1, portPath: '1-1' });
  const passId = deviceId();
  log.setIdentity(pass.id, {
    deviceId: passId,
    platform: 'boron',
    serialNumber: 'S013LS612ABCDEF',
    iccid: '89883030000000000017',
    imei: '352753090000001',
    deviceOs: '6.2.1',
  });
  log.setLineCheck(pass.id, 'ok');
  for (const step of ['identify', 'ensure-dfu', 'flash', 'leave', 'confirm', 'register'] as const) {
    log.beginStep(pass.id, step);
    log.finishStep(
      pass.id,
      step,
      100,
      step === 'flash' ? { moduleSteps: [{ name: 'app.bin', path: 'dfu', outcome: 'written', ms: 90 }] } : {},
    );
  }
  enqueueRegistration(log.db, { productId: batch.product, deviceId: passId });
  log.finishAttempt(pass.id, { result: 'pass', step: 'register', registrationState: 'queued' });
  const entry = listOutbox(log.db).find((e) => e.deviceId === passId);
  if (entry) settleOutbox(log.db, [{ id: entry.id, state: 'done', outcome: 'imported' }]);

  const failed = log.startAttempt({ batchId: batch.id, slot: 2, portPath: '1-2' });
  log.setIdentity(failed.id, { deviceId: deviceId(), platform: 'boron' });
  log.beginStep(failed.id, 'flash');
  log.finishAttempt(failed.id, {
    result: 'fail',
    step: 'flash',
    error: { code: 'DFU_VERIFY_MISMATCH', message: 'Read back differs at 0x8000000.', remedy: 'Retry once.' },
  });
  const skipped = log.startAttempt({ batchId: batch.id, slot: 3, portPath: '1-3' });
  log.setIdentity(skipped.id, { deviceId: passId, platform: 'boron' });
  log.finishAttempt(skipped.id, { result: 'skipped', step: 'identify', alreadyProvisioned: true });
  log.recordAudit('eve', 'accept', batch.id, { item: 'questions' });
  log.setBatchState(batch.id, 'paused', 'ana', { reason: 'lunch' });
  return batch.id;
};

/** Rows of a line table for one station, ordered by local id. */
export const lineRows = async (
  url: string,
  table: 'batches' | 'attempts' | 'registrations' | 'audit_log',
  stationId?: string,
): Promise<Record<string, unknown>[]> => {
  const key = {
    batches: 'batch_id',
    attempts: 'attempt_id',
    registrations: 'registration_id',
    audit_log: 'audit_id',
  }[table];
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const r = await client.query(
      `SELECT * FROM ${LINE_SCHEMA}.${table} ${stationId ? 'WHERE station_id = $1' : ''} ORDER BY station_id, ${key}`,
      stationId ? [stationId] : [],
    );
    return r.rows;
  } finally {
    await client.end();
  }
};

/** Local ids of a station table, for "exactly the station's rows" comparisons. */
export const localIds = (
  db: DatabaseSync,
  table: 'batches' | 'attempts' | 'outbox' | 'audit_log',
): number[] =>
  (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: number }[]).map((r) => Number(r.id));

export const query = async (url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> => {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end().catch(() => undefined);
  }
};

/** The line database holds exactly this station's rows: every local id once, no other. */
export const expectExactlyStationRows = async (
  url: string,
  db: DatabaseSync,
  stationId: string,
): Promise<{ attempts: number }> => {
  const pairs = [
    ['batches', 'batches', 'batch_id'],
    ['attempts', 'attempts', 'attempt_id'],
    ['registrations', 'outbox', 'registration_id'],
    ['audit_log', 'audit_log', 'audit_id'],
  ] as const;
  let attempts = 0;
  for (const [line, local, key] of pairs) {
    const ids = (await lineRows(url, line, stationId)).map((r) => Number(r[key]));
    const want = localIds(db, local);
    if (JSON.stringify(ids) !== JSON.stringify(want))
      throw new Error(`${line}: the line database has ${ids.length} rows, the station ${want.length}`);
    if (line === 'attempts') attempts = ids.length;
  }
  return { attempts };
};

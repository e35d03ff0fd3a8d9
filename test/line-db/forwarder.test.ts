import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type LineDbTarget, lineDbTargetFromEnv } from '../../core/line-db/config';
import type { LineNotice } from '../../core/line-db/forwarder';
import { LINE_NOTIFY_CHANNEL } from '../../core/line-db/schema';
import { lineStatusLine } from '../../core/line-db/status';
import { EXPORT_COLUMNS, writeExport } from '../../core/store/export';
import { lineFeedState } from '../../core/store/line-feed';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import { newBatch, openLog, tempDir } from '../store/helpers';
import { deviceId, lineRows, localIds, query, testForwarder, writeHistory } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';

const cluster = withPgCluster();

const targetFor = (url: string): LineDbTarget => {
  const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: url });
  if (!t.ok || !t.value) throw new Error('bad test URL');
  return t.value;
};

/** PostgreSQL values in the export's shape (timestamps as ISO text, numbers as numbers). */
// pg gives bigint columns as strings; digits in a text column (an ICCID, an IMEI) stay text.
const asExport = (v: unknown, exported: unknown): unknown => {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string' && typeof exported === 'number' && /^-?\d+$/.test(v)) return Number(v);
  return v;
};

describe.skipIf(pgSkip)('forwarding to the line database', () => {
  it('forwards every record kind, attempts with every column of the export', async () => {
    const url = await freshDatabase(cluster());
    const { log } = openLog(tempDir('ls-line-'));
    const batchId = writeHistory(log);
    const fwd = testForwarder({ db: log.db, target: targetFor(url) });
    const st = await fwd.forwardNow({ deadlineMs: 10_000 });
    expect(st.state).toBe('connected');
    expect(st.behind).toBe(0);
    expect(lineStatusLine(st)).toBe('line database: connected');

    const stationId = st.stationId;
    expect((await lineRows(url, 'batches')).map((r) => Number(r.batch_id))).toEqual(
      localIds(log.db, 'batches'),
    );
    expect((await lineRows(url, 'attempts')).map((r) => Number(r.attempt_id))).toEqual(
      localIds(log.db, 'attempts'),
    );
    expect((await lineRows(url, 'registrations')).map((r) => Number(r.registration_id))).toEqual(
      localIds(log.db, 'outbox'),
    );
    expect((await lineRows(url, 'audit_log')).map((r) => Number(r.audit_id))).toEqual(
      localIds(log.db, 'audit_log'),
    );

    // Every export column, with the export's values (registration_state read live, like the export).
    let text = '';
    writeExport(log, log.requireBatchById(batchId), 'json', (c) => {
      text += c;
    });
    const exported = JSON.parse(text) as Record<string, unknown>[];
    const rows = await lineRows(url, 'attempts', stationId);
    expect(rows).toHaveLength(exported.length);
    exported.forEach((e, i) => {
      const row = rows[i] ?? {};
      for (const c of EXPORT_COLUMNS) {
        const have = c === 'attempt_id' ? Number(row.attempt_id) : asExport(row[c], e[c]);
        expect({ column: c, value: have }).toEqual({ column: c, value: e[c] });
      }
    });
    expect(rows[0]?.registration_state).toBe('registered');
    expect(rows[0]?.line_check).toBe('ok');

    const [batch] = await lineRows(url, 'batches');
    expect(batch).toMatchObject({ lot: 'LOT-1', state: 'paused', station: 'line-1', offline: false });
    const [station] = (await query(url, 'SELECT * FROM linestation.stations')).rows;
    expect(station).toMatchObject({ station_id: stationId, name: 'B-1' });
    expect(Number(station.forwarded_seq)).toBe(st.forwardedSeq);
    // The normalised view of step durations.
    const steps = await query(
      url,
      'SELECT step, ms FROM linestation.step_durations WHERE attempt_id = $1 ORDER BY step',
      [rows[0]?.attempt_id],
    );
    expect(steps.rows.map((r) => r.step)).toEqual([
      'confirm',
      'ensure-dfu',
      'flash',
      'identify',
      'leave',
      'register',
    ]);
    log.close();
  });

  it('makes a resend harmless: the same keys, no duplicates, nothing older overwrites newer', async () => {
    const url = await freshDatabase(cluster());
    const { log } = openLog(tempDir('ls-line-'));
    writeHistory(log);
    const fwd = testForwarder({ db: log.db, target: targetFor(url) });
    await fwd.forwardNow();
    const before = await lineRows(url, 'attempts');
    // As if every acknowledgement had been lost: the whole feed is sent again.
    log.db.exec('UPDATE line_feed_state SET enabled = 0, acked_seq = 0');
    log.db.exec('DELETE FROM line_feed');
    const again = testForwarder({ db: log.db, target: targetFor(url) });
    const st = await again.forwardNow();
    expect(st.behind).toBe(0);
    const after = await lineRows(url, 'attempts');
    expect(after.map((r) => r.attempt_id)).toEqual(before.map((r) => r.attempt_id));
    expect(after.map(({ forwarded_at: _, seq: __, ...r }) => r)).toEqual(
      before.map(({ forwarded_at: _, seq: __, ...r }) => r),
    );
    // An old copy (lower seq) never replaces a newer one.
    const first = after[0];
    await query(
      url,
      `UPDATE linestation.attempts SET seq = seq + 1000000, result = 'newer' WHERE attempt_id = $1`,
      [first?.attempt_id],
    );
    log.db.exec('UPDATE line_feed_state SET enabled = 0, acked_seq = 0');
    log.db.exec('DELETE FROM line_feed');
    await testForwarder({ db: log.db, target: targetFor(url) }).forwardNow();
    const kept = await query(url, 'SELECT result FROM linestation.attempts WHERE attempt_id = $1', [
      first?.attempt_id,
    ]);
    expect(kept.rows[0]?.result).toBe('newer');
    log.close();
  });

  it('forwards in the background, counts what is behind, and re-sends a PASS when its registration changes', async () => {
    const url = await freshDatabase(cluster());
    const { log } = openLog(tempDir('ls-line-'));
    const fwd = testForwarder({ db: log.db, target: targetFor(url) });
    const batch = log.createBatch(newBatch({ lot: 'LOT-BG' }));
    fwd.start();
    const id = deviceId();
    const a = log.startAttempt({ batchId: batch.id, slot: 1, portPath: '1-1' });
    log.setIdentity(a.id, { deviceId: id, platform: 'boron' });
    enqueueRegistration(log.db, { productId: batch.product, deviceId: id });
    log.finishAttempt(a.id, { result: 'pass', step: 'register', registrationState: 'queued' });
    expect(lineFeedState(log.db).behind).toBeGreaterThan(0);
    await expect.poll(() => fwd.status().behind, { timeout: 10_000 }).toBe(0);
    const queued = await query(
      url,
      'SELECT registration_state FROM linestation.attempts WHERE attempt_id = $1',
      [a.id],
    );
    expect(queued.rows[0]?.registration_state).toBe('queued');

    const entry = listOutbox(log.db).find((e) => e.deviceId === id);
    settleOutbox(log.db, [{ id: entry?.id ?? 0, state: 'done', outcome: 'imported' }]);
    await expect
      .poll(
        async () =>
          (
            await query(url, 'SELECT registration_state FROM linestation.attempts WHERE attempt_id = $1', [
              a.id,
            ])
          ).rows[0]?.registration_state,
        { timeout: 10_000 },
      )
      .toBe('registered');
    expect(fwd.status().state).toBe('connected');
    await fwd.stop();
    expect(fwd.status().state).toBe('stopped');
    log.close();
  });

  it('announces each forwarded batch with NOTIFY', async () => {
    const url = await freshDatabase(cluster());
    const { log } = openLog(tempDir('ls-line-'));
    const fwd = testForwarder({ db: log.db, target: targetFor(url) });
    await fwd.forwardNow(); // creates the schema
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const notices: LineNotice[] = [];
    listener.on('notification', (n) => {
      if (n.channel === LINE_NOTIFY_CHANNEL && n.payload) notices.push(JSON.parse(n.payload) as LineNotice);
    });
    await listener.query(`LISTEN ${LINE_NOTIFY_CHANNEL}`);
    writeHistory(log, 'LOT-N');
    await fwd.forwardNow();
    await expect.poll(() => notices.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(notices[0]).toMatchObject({ stationId: fwd.status().stationId, station: 'B-1', lots: ['LOT-N'] });
    expect(notices.reduce((n, x) => n + x.attempts, 0)).toBe(3);
    await listener.end();
    log.close();
  });
});

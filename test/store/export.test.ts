import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enqueueLabel, requestReprint, settleLabelJob } from '../../core/labels/job-store';
import { buildLabelRecord } from '../../core/labels/label-record';
import { checkScannedLabel } from '../../core/labels/scan-back';
import { csvCell, EXPORT_COLUMNS, exportToFile, parseCsvLine, writeExport } from '../../core/store/export';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import { newBatch, openLog, tempDir } from './helpers';

const seed = () => {
  const { log } = openLog();
  const b = log.createBatch(newBatch());
  const a = log.startAttempt({ batchId: b.id, slot: 2, portPath: '1-2', labelSerial: 'L-7' });
  log.setIdentity(a.id, { deviceId: 'e00fce68bbbbbbbbbbbbbbbb', platform: 'boron' });
  log.finishStep(a.id, 'identify', 12);
  log.finishAttempt(a.id, {
    result: 'fail',
    step: 'flash',
    error: { code: 'DFU_VERIFY_FAILED', message: 'Readback differs at 0x000b4000, "sector" 3' },
  });
  const p = log.startAttempt({ batchId: b.id, slot: 2, portPath: '1-2' });
  log.setIdentity(p.id, { deviceId: 'e00fce68bbbbbbbbbbbbbbbb', platform: 'boron' });
  log.finishAttempt(p.id, { result: 'pass', registrationState: 'registered' });
  return { log, b };
};

describe('export', () => {
  it('writes one CSV row per attempt with the documented columns', () => {
    const { log } = seed();
    const file = join(tempDir(), 'lot.csv');
    expect(exportToFile(log, 'LOT-1', 'csv', file)).toBe(2);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(parseCsvLine(lines[0] ?? '')).toEqual([...EXPORT_COLUMNS]);
    const row = Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, parseCsvLine(lines[1] ?? '')[i]]));
    expect(row.device_id).toBe('e00fce68bbbbbbbbbbbbbbbb');
    expect(row.error_message).toBe('Readback differs at 0x000b4000, "sector" 3');
    expect(row.identify_ms).toBe('12');
    expect(row.label_serial).toBe('L-7');
    expect(row.module_hashes).toBe(`system-part1.bin=${'11'.repeat(32)};app.bin=${'22'.repeat(32)}`);
    const second = parseCsvLine(lines[2] ?? '');
    expect(second[EXPORT_COLUMNS.indexOf('try_number')]).toBe('2');
    expect(second[EXPORT_COLUMNS.indexOf('registration_state')]).toBe('registered');
  });

  it('has a duration column for the normal-mode and setup-done steps, and each module’s path and outcome', () => {
    const { log, b } = seed();
    const a = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
    log.finishStep(a.id, 'normal-update', 4120, {
      moduleSteps: [{ name: 'bootloader.bin', path: 'normal', outcome: 'written', ms: 4120 }],
    });
    log.finishStep(a.id, 'flash', 310, {
      moduleSteps: [
        { name: 'softdevice.bin', path: 'dfu', outcome: 'current', ms: 0 },
        { name: 'user.bin', path: 'dfu', outcome: 'written', ms: 310 },
      ],
    });
    log.finishStep(a.id, 'setup-done', 20, { setupDone: 'set' });
    log.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' });
    let csv = '';
    writeExport(log, b, 'csv', (c) => {
      csv += c;
    });
    const lines = csv.trimEnd().split('\r\n');
    const row = Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, parseCsvLine(lines[3] ?? '')[i]]));
    expect(row.normal_update_ms).toBe('4120');
    expect(row.setup_done_ms).toBe('20');
    expect(row.setup_done).toBe('set');
    expect(row.module_steps).toBe(
      'bootloader.bin@normal:written:4120;softdevice.bin@dfu:current:0;user.bin@dfu:written:310',
    );
  });

  it('says what became of each PASS’s label: the newest job’s state and the scan-back check', () => {
    const { log, b } = seed();
    const pass = log.attempts(b.id).find((a) => a.result === 'pass');
    if (!pass) throw new Error('no pass');
    const record = buildLabelRecord({
      deviceId: pass.deviceId ?? '',
      productName: 'Widget',
      lot: 'LOT-1',
      station: 'line-1',
      at: new Date('2026-03-14T10:00:00Z'),
    });
    const template = { symbol: { type: 'datamatrix', content: 'deviceId' } } as const;
    const { job } = enqueueLabel(log.db, { attemptId: pass.id, batchId: b.id, template, record });
    const rows = () => {
      let text = '';
      writeExport(log, b, 'json', (c) => {
        text += c;
      });
      return (JSON.parse(text) as Record<string, unknown>[]).map((r) => [r.label_state, r.label_verified]);
    };
    expect(rows()).toEqual([
      [null, null],
      ['pending', null],
    ]);
    settleLabelJob(log.db, job.id, { state: 'printed', output: '127.0.0.1:9100' });
    expect(checkScannedLabel(log.db, { batchId: b.id, scanned: pass.deviceId ?? '' }).ok).toBe(true);
    expect(rows()).toEqual([
      [null, null],
      ['printed', 'verified'],
    ]);
    // A reprint is the label now.
    expect(requestReprint(log.db, { attemptId: pass.id, actor: 'ana' }).ok).toBe(true);
    expect(rows()[1]).toEqual(['pending', 'verified']);
  });

  it('appends what identify read: serial number, ICCID, IMEI and Device OS, empty where unread', () => {
    const { log, b } = seed();
    const a = log.startAttempt({ batchId: b.id, slot: 3, portPath: '1-3' });
    log.setIdentity(a.id, {
      deviceId: 'e00fce68cccccccccccccccc',
      platform: 'boron',
      serialNumber: 'S013LS612ABCDEF',
      iccid: '89883030000000000017',
      imei: '352753090000001',
      deviceOs: '6.2.1',
    });
    log.finishAttempt(a.id, { result: 'pass', registrationState: 'queued' });
    expect(EXPORT_COLUMNS.slice(-4)).toEqual(['serial_number', 'iccid', 'imei', 'device_os']);
    let text = '';
    writeExport(log, b, 'json', (c) => {
      text += c;
    });
    const rows = JSON.parse(text) as Record<string, unknown>[];
    expect(rows[2]).toMatchObject({
      serial_number: 'S013LS612ABCDEF',
      iccid: '89883030000000000017',
      imei: '352753090000001',
      device_os: '6.2.1',
    });
    expect(rows[0]).toMatchObject({ serial_number: null, iccid: null, imei: null, device_os: null });
  });

  it('shows a PASS whose SIM the cloud refused as sim-failed, read live from the outbox', () => {
    const { log, b } = seed();
    const device = 'e00fce68bbbbbbbbbbbbbbbb';
    const { armed } = enqueueRegistration(log.db, {
      productId: b.product,
      deviceId: device,
      importSims: true,
      iccid: '89883030000000000017',
    });
    const state = () => {
      let text = '';
      writeExport(log, b, 'json', (c) => {
        text += c;
      });
      return (JSON.parse(text) as Record<string, unknown>[])[1]?.registration_state;
    };
    expect(state()).toBe('queued');
    const entries = listOutbox(log.db, { productId: b.product });
    settleOutbox(
      log.db,
      entries.map((e) =>
        e.action === 'sim'
          ? {
              id: e.id,
              state: 'failed' as const,
              code: 'CLOUD_SIM_REJECTED',
              message: 'owned by another account',
            }
          : { id: e.id, state: 'done' as const, outcome: 'imported' },
      ),
    );
    expect(armed.length).toBeGreaterThan(0);
    expect(state()).toBe('sim-failed');
  });

  it('writes JSON that parses back to the same rows', () => {
    const { log, b } = seed();
    let text = '';
    writeExport(log, b, 'json', (c) => {
      text += c;
    });
    const rows = JSON.parse(text) as Record<string, unknown>[];
    expect(rows.map((r) => r.result)).toEqual(['fail', 'pass']);
    expect(Object.keys(rows[0] ?? {})).toEqual([...EXPORT_COLUMNS]);
  });

  it('writes an empty but valid JSON array for a batch without attempts', () => {
    const { log } = openLog();
    const b = log.createBatch(newBatch());
    let text = '';
    writeExport(log, b, 'json', (c) => {
      text += c;
    });
    expect(JSON.parse(text)).toEqual([]);
  });

  it('defuses spreadsheet formulas and quotes separators', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(-5)).toBe('-5');
  });

  it('refuses an unknown lot and an unwritable destination by name', () => {
    const { log } = seed();
    expect(() => exportToFile(log, 'NOPE', 'csv', join(tempDir(), 'x.csv'))).toThrow(/NOPE/);
    expect(() => exportToFile(log, 'LOT-1', 'csv', join(tempDir(), 'missing', 'x.csv'))).toThrow(
      /Cannot write the export/,
    );
  });

  it('leaves no half-written file behind when the final rename fails', () => {
    const { log } = seed();
    const dir = tempDir();
    // A directory as the destination: the rows are written beside it, then the rename is refused.
    const dest = join(dir, 'out');
    mkdirSync(dest);
    expect(() => exportToFile(log, 'LOT-1', 'csv', dest)).toThrow(/Cannot write the export/);
    expect(readdirSync(dir)).toEqual(['out']);
  });
});

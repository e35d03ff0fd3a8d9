import { describe, expect, it } from 'vitest';
import { attemptLabelState, enqueueLabel, settleLabelJob } from '../../core/labels/job-store';
import {
  checkScannedLabel,
  labelsAwaitingScan,
  normalizeScan,
  verifyScannedLabel,
} from '../../core/labels/scan-back';
import { recordFor, stationWithBatch, template } from './helpers';

const T = Date.parse('2026-03-14T08:00:00Z');

describe('verifyScannedLabel', () => {
  it('accepts the printed key, whatever the scanner adds around it or Caps Lock did', () => {
    expect(verifyScannedLabel('P046AB1234567', 'P046AB1234567\r\n')).toEqual({
      ok: true,
      value: { content: 'P046AB1234567' },
    });
    expect(verifyScannedLabel('P046AB1234567', ']d2P046AB1234567').ok).toBe(true);
    expect(verifyScannedLabel('e00fce68a1b2c3d4e5f60718', 'E00FCE68A1B2C3D4E5F60718').ok).toBe(true);
    expect(normalizeScan(']Q1e00fce68\n')).toBe('e00fce68');
  });

  it('a different label is LABEL_MISMATCH carrying both values', () => {
    const r = verifyScannedLabel('P046AB1234567', 'P046AB7654321');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('LABEL_MISMATCH');
    expect(r.error.details).toEqual({ expected: 'P046AB1234567', scanned: 'P046AB7654321' });
    expect(r.error.message).toContain('P046AB7654321');
    expect(r.error.message).toContain('P046AB1234567');
    expect(r.error.remedy).toMatch(/Take this label off/);
  });

  it('an empty scan is LABEL_SCAN_EMPTY, not a match', () => {
    const r = verifyScannedLabel('P046AB1234567', ' \r\n');
    expect(!r.ok && r.error.code).toBe('LABEL_SCAN_EMPTY');
  });
});

describe('checkScannedLabel (the scan box with a printer)', () => {
  const setup = () => {
    const s = stationWithBatch();
    const printed = (deviceId: string) => {
      const attemptId = s.passed(deviceId);
      const { job } = enqueueLabel(
        s.db,
        { attemptId, batchId: s.batch.id, template: template(), record: recordFor(deviceId) },
        T,
      );
      settleLabelJob(s.db, job.id, { state: 'printed', output: 'x' }, T + attemptId);
      return { attemptId, content: job.content };
    };
    return { ...s, printed };
  };

  it('verifies the label it matches and records it on the attempt (label_verified, label_serial, an event)', () => {
    const { db, log, batch, printed } = setup();
    const one = printed('e00fce68a1b2c3d4e5f60001');
    const two = printed('e00fce68a1b2c3d4e5f60002');
    expect(labelsAwaitingScan(db, batch.id).map((a) => a.attemptId)).toEqual([one.attemptId, two.attemptId]);
    const r = checkScannedLabel(db, { batchId: batch.id, scanned: `${two.content}\r`, actor: 'ana' }, T);
    expect(r).toEqual({
      ok: true,
      value: {
        attemptId: two.attemptId,
        deviceId: 'e00fce68a1b2c3d4e5f60002',
        content: two.content,
        alreadyVerified: false,
      },
    });
    expect(attemptLabelState(db, two.attemptId).verified).toBe('verified');
    expect(log.requireAttempt(two.attemptId).labelSerial).toBe(two.content);
    expect(log.events(batch.id).find((e) => e.type === 'label-verified')?.data).toEqual({
      expected: two.content,
      scanned: two.content,
      by: 'ana',
    });
    expect(labelsAwaitingScan(db, batch.id).map((a) => a.attemptId)).toEqual([one.attemptId]);
    const twice = checkScannedLabel(db, { batchId: batch.id, scanned: two.content }, T);
    expect(twice.ok && twice.value.alreadyVerified).toBe(true);
  });

  it('a label that matches nothing is a loud LABEL_MISMATCH against the oldest label owed a scan, recorded', () => {
    const { db, log, batch, printed } = setup();
    const one = printed('e00fce68a1b2c3d4e5f60001');
    printed('e00fce68a1b2c3d4e5f60002');
    const r = checkScannedLabel(db, { batchId: batch.id, scanned: 'P046OLDSTICKER' }, T);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('LABEL_MISMATCH');
    expect(r.error.details).toMatchObject({
      expected: one.content,
      scanned: 'P046OLDSTICKER',
      attemptId: one.attemptId,
    });
    expect(attemptLabelState(db, one.attemptId).verified).toBe('mismatch');
    expect(log.events(batch.id).find((e) => e.type === 'label-mismatch')?.data).toEqual({
      expected: one.content,
      scanned: 'P046OLDSTICKER',
    });
    // The right label, scanned next, clears it.
    expect(checkScannedLabel(db, { batchId: batch.id, scanned: one.content }, T).ok).toBe(true);
    expect(attemptLabelState(db, one.attemptId).verified).toBe('verified');
  });

  it('with no printed label waiting, a scan is LABEL_NOTHING_TO_VERIFY; a pending label is not yet scannable', () => {
    const { db, batch, passed } = setup();
    const attemptId = passed('e00fce68a1b2c3d4e5f60003');
    const { job } = enqueueLabel(
      db,
      { attemptId, batchId: batch.id, template: template(), record: recordFor('e00fce68a1b2c3d4e5f60003') },
      T,
    );
    const r = checkScannedLabel(db, { batchId: batch.id, scanned: job.content }, T);
    expect(!r.ok && r.error.code).toBe('LABEL_NOTHING_TO_VERIFY');
    // Unless the printer may have printed it before the connection dropped.
    settleLabelJob(
      db,
      job.id,
      { state: 'pending', code: 'LABEL_PRINTER_DROPPED', message: 'x', nextTryAt: T, maybePrinted: true },
      T,
    );
    expect(checkScannedLabel(db, { batchId: batch.id, scanned: job.content }, T).ok).toBe(true);
  });
});

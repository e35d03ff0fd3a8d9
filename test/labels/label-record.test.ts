import { describe, expect, it } from 'vitest';
import {
  buildLabelRecord,
  labelDate,
  SAMPLE_LABEL_RECORD,
  symbolContent,
  textLines,
} from '../../core/labels/label-record';
import { template } from './helpers';

describe('label record', () => {
  it('builds from an attempt: device ID lower case, blanks dropped, the date in the station zone', () => {
    const r = buildLabelRecord({
      deviceId: ' E00FCE68A1B2C3D4E5F60718 ',
      serial: 'P046AB1234567',
      iccid: '  ',
      productName: 'Field Tracker',
      productVersion: 12,
      lot: 'L-1',
      station: 'line-1',
      at: new Date('2026-03-14T23:30:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(r).toEqual({
      deviceId: 'e00fce68a1b2c3d4e5f60718',
      serial: 'P046AB1234567',
      productName: 'Field Tracker',
      productVersion: '12',
      lot: 'L-1',
      date: '2026-03-15',
      station: 'line-1',
    });
    expect(labelDate(new Date('2026-03-14T23:30:00Z'), 'UTC')).toBe('2026-03-14');
  });

  it("takes the symbol's content from the chosen key", () => {
    expect(symbolContent(template(), SAMPLE_LABEL_RECORD)).toEqual({ ok: true, value: 'P046AB1234567' });
    const byId = symbolContent(template({ symbol: { content: 'deviceId' } }), SAMPLE_LABEL_RECORD);
    expect(byId).toEqual({ ok: true, value: SAMPLE_LABEL_RECORD.deviceId });
  });

  it('names a missing key LABEL_FIELD_MISSING (a Wi-Fi device has no ICCID)', () => {
    const { iccid: _none, ...wifi } = SAMPLE_LABEL_RECORD;
    const r = symbolContent(template({ symbol: { content: 'iccid' } }), wifi);
    expect(!r.ok && r.error.code).toBe('LABEL_FIELD_MISSING');
    expect(!r.ok && r.error.message).toMatch(/iccid/);
  });

  it('never prints a mobile secret: a serial with a space is refused as symbol and cut in text', () => {
    const gen3 = { ...SAMPLE_LABEL_RECORD, serial: 'P046AB1234567 MOBILESECRET1234' };
    const r = symbolContent(template(), gen3);
    expect(!r.ok && r.error.code).toBe('LABEL_CONTENT_INVALID');
    expect(!r.ok && r.error.message).not.toMatch(/MOBILESECRET/);
    const lines = textLines(template(), gen3);
    expect(lines.ok && lines.value.join('\n')).not.toMatch(/MOBILESECRET/);
    expect(lines.ok && lines.value[1]).toBe('SN P046AB1234567');
  });

  it('leaves optional lines out and refuses a required one that is missing', () => {
    const { iccid: _none, ...wifi } = SAMPLE_LABEL_RECORD;
    const lines = textLines(template(), wifi);
    expect(lines.ok && lines.value).toEqual(['Field Tracker', 'SN P046AB1234567', wifi.deviceId, wifi.date]);
    const strict = textLines(template({ lines: [{ field: 'iccid' }] }), wifi);
    expect(!strict.ok && strict.error.code).toBe('LABEL_FIELD_MISSING');
  });

  it('refuses symbol content a scanner could not give back (non-ASCII, too long)', () => {
    expect(symbolContent(template(), { ...SAMPLE_LABEL_RECORD, serial: 'Pé12' }).ok).toBe(false);
    expect(symbolContent(template(), { ...SAMPLE_LABEL_RECORD, serial: 'X'.repeat(65) }).ok).toBe(false);
  });
});

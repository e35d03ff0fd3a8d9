import { describe, expect, it } from 'vitest';
import {
  registrationRequestFor,
  renderTemplate,
  resolveCloudSetup,
  shipmentDay,
  unknownTemplateFields,
} from '../../core/cloud/cloud-setup';
import { deviceId } from './helpers';

describe('cloud setup: templates, the shipment day, the request per device', () => {
  it('renders names and notes; an unknown value is an error, not an empty string', () => {
    expect(renderTemplate('{product}-{serial}', { product: 'widget', serial: 'S013LS612ABCDEF' })).toEqual({
      ok: true,
      value: 'widget-S013LS612ABCDEF',
    });
    const r = renderTemplate('{serial}', { serial: undefined });
    expect(r.ok ? '' : r.error.code).toBe('CLOUD_SETUP_FIELD_MISSING');
    expect(unknownTemplateFields('{serial}-{colour}-{lot}')).toEqual(['colour']);
  });

  it('the shipment day is the station’s calendar day, YYYYMMDD', () => {
    const at = new Date('2026-12-04T23:30:00Z');
    expect(shipmentDay(at, 'UTC')).toBe('20261204');
    expect(shipmentDay(at, 'Europe/Berlin')).toBe('20261205');
  });

  it('imports SIMs by default on cellular platforms only, and can be told not to', () => {
    const cell = resolveCloudSetup({ cellular: true });
    expect(cell.ok && cell.value.importSims).toBe(true);
    const wifi = resolveCloudSetup({ cellular: false, setup: { importSims: true } });
    expect(wifi.ok && wifi.value.importSims).toBe(false);
    const off = resolveCloudSetup({ cellular: true, setup: { importSims: false } });
    expect(off.ok && off.value.importSims).toBe(false);
  });

  it('locks to the user part’s product version, or to a given one; true without one is an error', () => {
    const fromSet = resolveCloudSetup({
      cellular: true,
      setup: { lockFirmwareVersion: true },
      productFirmwareVersion: 7,
    });
    expect(fromSet.ok && fromSet.value.desiredFirmwareVersion).toBe(7);
    const given = resolveCloudSetup({ cellular: true, setup: { lockFirmwareVersion: 12 } });
    expect(given.ok && given.value.desiredFirmwareVersion).toBe(12);
    const none = resolveCloudSetup({ cellular: true, setup: { lockFirmwareVersion: true } });
    expect(none.ok ? '' : none.error.code).toBe('CLOUD_SETUP_NO_FIRMWARE_VERSION');
  });

  it('builds the outbox request; a name the device cannot fill is left out and said why', () => {
    const setup = resolveCloudSetup({
      cellular: true,
      groups: ['line-1'],
      setup: {
        name: '{product}-{serial}',
        notes: 'lot {lot}, station {station}',
        dateGroup: true,
        lockFirmwareVersion: 3,
      },
    });
    if (!setup.ok) throw new Error(setup.error.message);
    const facts = {
      deviceId: deviceId(1),
      product: 'widget',
      productId: 4242,
      lot: 'L-7',
      station: 'st-2',
      iccid: '89883030000000000001',
      at: new Date('2026-12-04T10:00:00Z'),
      timeZone: 'UTC',
    };
    const full = registrationRequestFor(setup.value, { ...facts, serialNumber: 'S013LS612ABCDEF' });
    expect(full.skipped).toEqual([]);
    expect(full.request).toEqual({
      productId: 4242,
      deviceId: deviceId(1),
      groups: ['line-1'],
      importSims: true,
      iccid: '89883030000000000001',
      name: 'widget-S013LS612ABCDEF',
      notes: 'lot L-7, station st-2',
      desiredFirmwareVersion: 3,
      dateGroup: '20261204',
    });
    const noSerial = registrationRequestFor(setup.value, facts);
    expect(noSerial.request.name).toBeUndefined();
    expect(noSerial.skipped).toEqual([
      expect.objectContaining({ field: 'name', code: 'CLOUD_SETUP_FIELD_MISSING' }),
    ]);
    const spaced = registrationRequestFor(
      { ...setup.value, name: '{lot} {serial}' },
      { ...facts, serialNumber: 'S1' },
    );
    expect(spaced.skipped[0]?.code).toBe('CLOUD_SETUP_NAME_INVALID');
  });
});

import { describe, expect, it } from 'vitest';
import { METHOD_NAMES, METHODS } from '../../core/contract/methods';
import { slotViewSchema, stationStateSchema } from '../../core/contract/station';

describe('station contract', () => {
  it('keeps engineer set-up behind engineer rights and the line itself with the operator', () => {
    const engineer = METHOD_NAMES.filter((m) => METHODS[m].role === 'engineer').sort();
    expect(engineer).toEqual(
      [
        'audit.list',
        'cloud.outbox',
        'cloud.setToken',
        'cloud.sync',
        'cloud.test',
        'files.choose',
        'firmware.inspect',
        // Asks the station's label printer for its status: set-up, like the cloud connection test.
        'label.testPrinter',
        'line.test',
        'profile.load',
        'profile.lock',
        'profile.read',
        'profile.save',
        'settings.get',
        'settings.update',
        'usb.ports',
      ].sort(),
    );
    for (const m of [
      'batch.start',
      'batch.stop',
      'label.scan',
      // The issue: an operator can reprint from the batch view (audited under their name).
      'label.jobs',
      'label.reprint',
      'label.printNow',
      'label.preview',
      'station.state',
      'batch.export',
      'session.unlock',
      'line.status',
    ] as const)
      expect(METHODS[m].role).toBe('operator');
  });

  it('accepts scanner input as typed and refuses what a scanner cannot mean', () => {
    const start = METHODS['batch.start'].request;
    expect(start.parse({ lot: '  LOT-42 ' })).toEqual({
      lot: 'LOT-42',
      operator: 'operator',
      offline: false,
      accept: [],
    });
    expect(start.safeParse({ lot: 'two words' }).success).toBe(false);
    expect(start.safeParse({ lot: '' }).success).toBe(false);
    expect(start.safeParse({ lot: 'x'.repeat(65) }).success).toBe(false);
    expect(METHODS['label.scan'].request.safeParse({ serial: 'SN\u0007' }).success).toBe(false);
  });

  it('takes a PIN only as 4 to 12 digits', () => {
    const unlock = METHODS['session.unlock'].request;
    expect(unlock.safeParse({ pin: '1234' }).success).toBe(true);
    expect(unlock.safeParse({ pin: '123' }).success).toBe(false);
    expect(unlock.safeParse({ pin: '12ab' }).success).toBe(false);
    expect(unlock.safeParse({ pin: '1'.repeat(13) }).success).toBe(false);
  });

  it('describes slots with a closed set of states and optional detail', () => {
    expect(slotViewSchema.safeParse({ slot: 1, label: 'A1', state: 'passed' }).success).toBe(true);
    expect(slotViewSchema.safeParse({ slot: 1, label: 'A1', state: 'exploded' }).success).toBe(false);
    const empty = { stationName: 's', running: false, batch: null, slots: [], pendingLabels: [], log: [] };
    expect(stationStateSchema.parse(empty)).toEqual(empty);
  });

  it('limits attempt pages so one call cannot pull a whole 100k batch', () => {
    const req = METHODS['batch.attempts'].request;
    expect(req.parse({ lot: 'L' })).toEqual({ lot: 'L', offset: 0, limit: 200 });
    expect(req.safeParse({ lot: 'L', limit: 100_000 }).success).toBe(false);
  });
});

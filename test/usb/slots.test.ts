import { describe, expect, it } from 'vitest';
import type { DeviceIdentity } from '../../core/usb/identity';
import { assignSlots, comparePortPaths, findDuplicateIds, slotLabel } from '../../core/usb/slots';

const dev = (portPath: string, deviceId: string | undefined): DeviceIdentity => ({
  key: `k-${portPath}`,
  portPath,
  vendorId: 0x2b04,
  productId: 0xc00d,
  platform: 'boron',
  platformId: 13,
  mode: 'normal',
  deviceId,
  deviceIdStatus: deviceId ? 'serial' : 'invalid',
  serialNumber: deviceId ?? '',
  serialPath: undefined,
  problems: [],
});

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

describe('slots', () => {
  it('labels port paths from the profile map, null when unnamed', () => {
    const out = assignSlots([dev('1-1.1', A), dev('1-1.2', B)], { '1-1.1': 'A1' });
    expect(out.map((d) => d.slot)).toEqual(['A1', null]);
    expect(slotLabel({ toString: 'x' }, 'toString')).toBe('x');
    expect(slotLabel({}, 'toString')).toBeUndefined();
  });

  it('flags BOTH devices that report the same ID on different paths', () => {
    const out = assignSlots([dev('1-1.1', A), dev('1-1.2', A), dev('1-1.3', B), dev('1-1.4', undefined)]);
    expect(out.map((d) => d.errors.map((e) => e.code))).toEqual([
      ['DUPLICATE_DEVICE_ID'],
      ['DUPLICATE_DEVICE_ID'],
      [],
      [],
    ]);
    expect(out[0]?.errors[0]?.details).toEqual({ deviceId: A, portPaths: ['1-1.1', '1-1.2'] });
    expect(out[0]?.errors[0]?.remedy).toBeTruthy();
    expect(findDuplicateIds([dev('1-1.1', A), dev('1-1.1', A)]).size).toBe(0);
  });

  it('orders port paths numerically', () => {
    expect(['1-1.10', '1-1.2', '2-1', '1-1.1.3', '1-1'].sort(comparePortPaths)).toEqual([
      '1-1',
      '1-1.1.3',
      '1-1.2',
      '1-1.10',
      '2-1',
    ]);
  });
});

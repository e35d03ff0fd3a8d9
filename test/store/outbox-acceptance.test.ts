import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../core/store/database';
import {
  acceptanceRecorder,
  listCloudAcceptances,
  recordCloudAcceptance,
} from '../../core/store/outbox-acceptance';

describe('cloud acceptance records', () => {
  it('records and lists an engineer accepting an unknown released-firmware check', () => {
    const db = openDatabase(':memory:');
    const a = recordCloudAcceptance(
      db,
      {
        productId: 7,
        checkName: 'released-firmware',
        checkResult: 'unknown',
        acceptedBy: 'eng',
        reason: 'offline',
        context: { batch: 'B1' },
      },
      Date.parse('2026-01-02T03:04:05Z'),
    );
    expect(a).toMatchObject({ productId: '7', acceptedAt: '2026-01-02T03:04:05.000Z' });
    acceptanceRecorder(db)({
      productId: 8,
      checkName: 'released-firmware',
      checkResult: 'unknown',
      acceptedBy: 'eng2',
    });
    expect(listCloudAcceptances(db, 7)).toEqual([a]);
    expect(listCloudAcceptances(db).map((x) => x.acceptedBy)).toEqual(['eng', 'eng2']);
  });
});

import { describe, expect, it } from 'vitest';
import { classifyImport } from '../../core/cloud/import-outcome';
import { importResponseSchema } from '../../core/cloud/schemas';
import { deviceId } from './helpers';

const response = (r: Record<string, unknown>) => importResponseSchema.parse(r);

describe('classifyImport', () => {
  it('names each category per device', () => {
    const ids = [1, 2, 3, 4, 5, 6].map(deviceId);
    const out = classifyImport(
      response({
        updatedDeviceIds: [ids[0]],
        existingDeviceIds: [ids[1]],
        invalidDeviceIds: [ids[2]],
        nonmemberDeviceIds: [ids[3]],
        protectedDeviceIds: [ids[4]],
      }),
      ids,
    );
    expect([...out.values()]).toEqual([
      { kind: 'done', how: 'imported' },
      { kind: 'done', how: 'existing' },
      { kind: 'rejected', code: 'CLOUD_DEVICE_INVALID' },
      { kind: 'rejected', code: 'CLOUD_DEVICE_NONMEMBER' },
      { kind: 'rejected', code: 'CLOUD_DEVICE_PROTECTED' },
      // Not mentioned at all: not acknowledged, so it must be sent again.
      { kind: 'unacknowledged' },
    ]);
  });

  it('matches IDs regardless of case and prefers a rejection over a success', () => {
    const id = deviceId(7);
    const out = classifyImport(response({ updatedDeviceIds: [id.toUpperCase()], nonmemberDeviceIds: [id] }), [
      id,
    ]);
    expect(out.get(id)).toEqual({ kind: 'rejected', code: 'CLOUD_DEVICE_NONMEMBER' });
  });

  it('accepts older responses without protectedDeviceIds', () => {
    const out = classifyImport(response({ updated: 1, updatedDeviceIds: [deviceId(1)] }), [deviceId(1)]);
    expect(out.get(deviceId(1))).toEqual({ kind: 'done', how: 'imported' });
  });
});

import type { DeviceRejectionCode } from './errors';
import type { ImportResponse } from './schemas';

/**
 * What an import response says about one device:
 * - `imported` / `existing`: done (already being in the product is success: imports are idempotent);
 * - a rejection code: a permanent failure the operator must see;
 * - `unacknowledged`: the response did not mention the device at all. Nothing proves the cloud
 *   has it, so it stays queued and is sent again.
 */
export type DeviceImportOutcome =
  | { readonly kind: 'done'; readonly how: 'imported' | 'existing' }
  | { readonly kind: 'rejected'; readonly code: DeviceRejectionCode }
  | { readonly kind: 'unacknowledged' };

// Device IDs are hex; the cloud may change their case, so compare lower-cased.
const norm = (id: string): string => id.trim().toLowerCase();

export const classifyImport = (
  response: ImportResponse,
  deviceIds: readonly string[],
): Map<string, DeviceImportOutcome> => {
  const lists: [readonly string[], DeviceImportOutcome][] = [
    // Rejections first: if a confused response names a device twice, the failure is what we show.
    [response.invalidDeviceIds, { kind: 'rejected', code: 'CLOUD_DEVICE_INVALID' }],
    [response.nonmemberDeviceIds, { kind: 'rejected', code: 'CLOUD_DEVICE_NONMEMBER' }],
    [response.protectedDeviceIds, { kind: 'rejected', code: 'CLOUD_DEVICE_PROTECTED' }],
    [response.updatedDeviceIds, { kind: 'done', how: 'imported' }],
    [response.existingDeviceIds, { kind: 'done', how: 'existing' }],
  ];
  const byId = new Map<string, DeviceImportOutcome>();
  for (const [ids, outcome] of lists)
    for (const id of ids) if (!byId.has(norm(id))) byId.set(norm(id), outcome);
  const out = new Map<string, DeviceImportOutcome>();
  for (const id of deviceIds) out.set(id, byId.get(norm(id)) ?? { kind: 'unacknowledged' });
  return out;
};

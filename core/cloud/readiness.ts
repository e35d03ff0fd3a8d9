import type { CloudClient } from './client';
import type { CloudError } from './errors';
import { type RetryTransientOptions, retryTransient } from './retry-transient';

export type ReleasedFirmwareStatus = 'released' | 'none' | 'unknown';

/**
 * For OTA-on-setup: a product device that is not a development device receives the product's
 * default (released) firmware when it first connects, so a batch that programs nothing on the
 * line only makes sense when one exists. 'unknown' when the cloud could not be asked (offline,
 * token problem): the station then needs an engineer's explicit acceptance.
 */
export const releasedFirmwareCheck = async (
  client: CloudClient,
  productId: string | number,
  opts: { signal?: AbortSignal } = {},
): Promise<ReleasedFirmwareStatus> => (await releasedFirmwareDetail(client, productId, opts)).status;

/**
 * The same check with the evidence: the released version, or why it is unknown. Asks once unless
 * `retry` is given (a batch start waits out transient answers; an interactive checklist does not).
 */
export const releasedFirmwareDetail = async (
  client: CloudClient,
  productId: string | number,
  opts: { signal?: AbortSignal; retry?: RetryTransientOptions } = {},
): Promise<{ status: ReleasedFirmwareStatus; version?: number; error?: CloudError }> => {
  const r = await retryTransient(
    (signal) => client.listProductFirmware(String(productId), signal ? { signal } : {}),
    { limitMs: 0, ...opts.retry, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  if (!r.ok) return { status: 'unknown', error: r.error };
  const released = r.value.find((f) => f.product_default === true);
  return released ? { status: 'released', version: released.version } : { status: 'none' };
};

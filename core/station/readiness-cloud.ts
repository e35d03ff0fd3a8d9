import { createCloudClient } from '../cloud/client';
import type { CloudError } from '../cloud/errors';
import type { RateLimiter } from '../cloud/rate-budget';
import { releasedFirmwareDetail } from '../cloud/readiness';
import type { RetryTransientOptions } from '../cloud/retry-transient';
import type { Profile } from './profile-schema';
import type { ReleasedFirmwareAnswer } from './readiness';

export interface CloudCheckOptions {
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  /** Wait out transient answers for a bounded time (a batch start); otherwise ask once. */
  readonly retry?: RetryTransientOptions;
  /** The station's rate limiter (a batch start shares it with the session's client). */
  readonly rateLimiter?: RateLimiter;
}

export interface ReleasedFirmwareDetail {
  readonly status: ReleasedFirmwareAnswer;
  /** Why the answer is unknown, when the cloud was asked and failed. */
  readonly error?: CloudError;
}

/**
 * The checklist's OTA-on-setup question, answered by the product's own cloud configuration:
 * only when the profile registers to the cloud and the token variable is set on this station.
 * Otherwise there is nobody to ask, and the item stays pending for the engineer to confirm.
 */
export const cloudReleasedFirmwareCheck = (
  profile: Profile,
  env: Readonly<Record<string, string | undefined>>,
  options: CloudCheckOptions = {},
): (() => Promise<ReleasedFirmwareAnswer>) | undefined => {
  const detail = cloudReleasedFirmwareDetail(profile, env, options);
  return detail && (async () => (await detail()).status);
};

/** The same check with the cloud's error when the answer is unknown (a batch start tells "unreachable" apart). */
export const cloudReleasedFirmwareDetail = (
  profile: Profile,
  env: Readonly<Record<string, string | undefined>>,
  options: CloudCheckOptions = {},
): (() => Promise<ReleasedFirmwareDetail>) | undefined => {
  if (profile.provisioningMode !== 'ota-on-setup') return undefined;
  const r = profile.registration;
  if (r?.mode !== 'cloud') return undefined;
  const token = env[r.tokenEnv];
  if (!token) return undefined;
  const client = createCloudClient({
    baseUrl: r.apiBaseUrl,
    token: async () => token,
    // The checklist is interactive: better "unknown" soon than a frozen screen.
    timeoutMs: options.timeoutMs ?? 8000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
  });
  return () =>
    releasedFirmwareDetail(client, profile.product.slug ?? profile.product.id, {
      ...(options.retry ? { retry: options.retry } : {}),
    });
};

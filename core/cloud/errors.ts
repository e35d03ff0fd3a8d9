import type { LsError } from '../errors/result';

/**
 * What the caller should do after a failed cloud call. The outbox drain branches on this alone,
 * so every response class the cloud can give maps onto exactly one of these:
 * - `config`: the station is misconfigured (token missing, expired or lacking a scope, product
 *   unknown). Retrying cannot help until an engineer fixes it, so the batch's registrations stop.
 * - `backoff`: transient (rate limit, 5xx, timeout, network); retry later, honouring retryAfterMs.
 * - `permanent`: this request will never succeed as sent (400); the entries it carried fail.
 * - `aborted`: the caller cancelled; nothing is known about the outcome.
 */
export type CloudFailureKind = 'config' | 'backoff' | 'permanent' | 'aborted';

export type CloudErrorCode =
  | 'CLOUD_NO_TOKEN'
  | 'CLOUD_UNAUTHORIZED'
  | 'CLOUD_FORBIDDEN'
  | 'CLOUD_NOT_FOUND'
  | 'CLOUD_RATE_LIMITED'
  | 'CLOUD_SERVER_ERROR'
  | 'CLOUD_TIMEOUT'
  | 'CLOUD_NETWORK'
  | 'CLOUD_BAD_REQUEST'
  | 'CLOUD_BAD_RESPONSE'
  | 'CLOUD_ABORTED'
  // Service Mode (PUT …/devices/:id/unprotect): see client.ts unprotectError.
  | 'CLOUD_PROTECTION_NOT_ACTIVE'
  | 'CLOUD_DEVICE_NOT_IN_PRODUCT'
  | 'CLOUD_DEVICE_KEY_UNKNOWN'
  | 'CLOUD_SIGNATURE_INVALID'
  | 'CLOUD_NONCE_INVALID'
  // Cloud setup (SIM import, device update, groups): see setup-client.ts.
  | 'CLOUD_SIM_REJECTED'
  | 'CLOUD_GROUP_EXISTS'
  | 'CLOUD_GROUP_NOT_FOUND'
  | 'CLOUD_GROUP_NAME_INVALID'
  | 'CLOUD_FIRMWARE_VERSION_UNKNOWN';

export interface CloudError extends LsError<CloudErrorCode> {
  readonly kind: CloudFailureKind;
  /** HTTP status when the cloud answered at all. */
  readonly status?: number;
  /** From Retry-After (429, sometimes 503), in milliseconds. */
  readonly retryAfterMs?: number;
}

/** Per-device permanent failures named by the import response's lists. */
export type DeviceRejectionCode =
  | 'CLOUD_DEVICE_INVALID'
  | 'CLOUD_DEVICE_NONMEMBER'
  | 'CLOUD_DEVICE_PROTECTED';

export const DEVICE_REJECTIONS: Record<DeviceRejectionCode, { message: string; remedy: string }> = {
  CLOUD_DEVICE_INVALID: {
    message: 'The Particle Cloud says this is not a valid device ID.',
    remedy: 'Check the device ID read from the device (24 hex characters); re-identify the device.',
  },
  CLOUD_DEVICE_NONMEMBER: {
    message:
      "The device is claimed by an account outside the product's organization, so it cannot be imported.",
    remedy: 'Ask the current owner to release the device, or set it aside for investigation.',
  },
  CLOUD_DEVICE_PROTECTED: {
    message: 'The device is protected (Device Protection) and cannot be imported into this product.',
    remedy: 'Unprotect the device from the product that owns it, or set it aside.',
  },
};

const REDACTED = '[REDACTED]';

/**
 * Removes the token from any text that might echo it (server error bodies, exception messages).
 * Also scrubs anything shaped like a bearer header, so a token we were never told about (for
 * example one a proxy reflected) does not leak either.
 */
export const redact = (text: string, token: string | undefined): string => {
  let out = text;
  if (token && token.length > 0) out = out.split(token).join(REDACTED);
  return out
    .replace(/(bearer\s+)[^\s"',;]+/gi, `$1${REDACTED}`)
    .replace(/(access_token=)[^\s&"']+/gi, `$1${REDACTED}`);
};

export const cloudError = (
  code: CloudErrorCode,
  kind: CloudFailureKind,
  message: string,
  extra: { remedy?: string; status?: number; retryAfterMs?: number; details?: Record<string, unknown> } = {},
): CloudError => ({ code, kind, message, ...extra });

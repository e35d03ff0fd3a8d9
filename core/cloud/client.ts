import type { z } from 'zod';
import { type CloudError, type CloudErrorCode, cloudError, redact } from './errors';
import { createRateLimiter, PARTICLE_RATE_BUDGET, type RateLimiter } from './rate-budget';
import {
  type DeviceSettings,
  type DeviceUnprotectProof,
  deviceListSchema,
  errorBodySchema,
  firmwareListSchema,
  type ImportResponse,
  importResponseSchema,
  type ProductDevice,
  type ProductFirmware,
  type ProductInfo,
  productSchema,
  type ServerUnprotectProof,
  unprotectConfirmSchema,
  unprotectPrepareSchema,
} from './schemas';
import { type CloudSetupClient, setupEndpoints, simRejection, updateRefusal } from './setup-client';

export const PARTICLE_API_URL = 'https://api.particle.io';

/**
 * Where the token comes from is none of the core's business: the CLI reads an environment
 * variable, the desktop app decrypts it with safeStorage. Called once per request so a token
 * the engineer replaces takes effect without restarting the drain.
 */
export type TokenProvider = () => Promise<string | undefined>;

export type CloudResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: CloudError };

export interface CloudClientOptions {
  readonly baseUrl?: string;
  readonly token: TokenProvider;
  /** Per request, including reading the body. */
  readonly timeoutMs?: number;
  /** Injected for tests; the built-in fetch otherwise. */
  readonly fetch?: typeof fetch;
  /**
   * Spaces every request to stay inside the rate budget (rate-budget.ts). Default: this client's
   * own limiter with Particle's whole budget. Clients of one station share one limiter; a line with
   * several stations behind one public IP gives each its `stationShare`. `null`: no spacing.
   */
  readonly rateLimiter?: RateLimiter | null;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface ImportOptions extends RequestOptions {
  /** `import_sims: true`: the cloud imports each device's SIM into the product with it. */
  readonly importSims?: boolean;
}

export interface CloudClient extends CloudSetupClient {
  readonly baseUrl: string;
  /** The limiter every request of this client waits on (undefined: none). */
  readonly rateLimiter: RateLimiter | undefined;
  /**
   * One device goes as `{ id }`, several as `{ ids }` (one request, one rate-limit token). With
   * `importSims`, a refused SIM comes back as CLOUD_SIM_REJECTED (the whole request fails).
   */
  importDevices(
    productId: string,
    deviceIds: readonly string[],
    opts?: ImportOptions,
  ): Promise<CloudResult<ImportResponse>>;
  updateDevice(
    productId: string,
    deviceId: string,
    settings: DeviceSettings,
    opts?: RequestOptions,
  ): Promise<CloudResult<void>>;
  listProductFirmware(productId: string, opts?: RequestOptions): Promise<CloudResult<ProductFirmware[]>>;
  listProductDevices(
    productId: string,
    page?: { page?: number; perPage?: number },
    opts?: RequestOptions,
  ): Promise<CloudResult<{ devices: ProductDevice[]; totalPages: number }>>;
  /** Every page of the product's devices. */
  listAllProductDevices(productId: string, opts?: RequestOptions): Promise<CloudResult<ProductDevice[]>>;
  /** Proves the token works for this product (GET /v1/products/:p): 401/403/404 come back as config errors. */
  checkToken(productId: string, opts?: RequestOptions): Promise<CloudResult<ProductInfo>>;
  /**
   * Service Mode, step 1 (`PUT …/devices/:id/unprotect`, action `prepare`): the cloud's 32-byte
   * nonce for the device's PREPARE. Refusals: CLOUD_PROTECTION_NOT_ACTIVE, CLOUD_DEVICE_NOT_IN_PRODUCT,
   * CLOUD_DEVICE_KEY_UNKNOWN, and the usual token/scope/transient classes.
   */
  unprotectPrepare(
    productId: string,
    deviceId: string,
    opts?: RequestOptions,
  ): Promise<CloudResult<{ readonly serverNonce: Uint8Array }>>;
  /**
   * Service Mode, step 2 (action `confirm`): the device's answer to PREPARE in, the cloud's
   * signature for the device's CONFIRM out. Also CLOUD_SIGNATURE_INVALID and CLOUD_NONCE_INVALID.
   */
  unprotectConfirm(
    productId: string,
    deviceId: string,
    proof: DeviceUnprotectProof,
    opts?: RequestOptions,
  ): Promise<CloudResult<ServerUnprotectProof>>;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Retry-After is seconds or an HTTP date; fractional seconds are accepted (the mock uses them). */
export const parseRetryAfter = (value: string | null, now: number = Date.now()): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
};

const statusError = (
  status: number,
  description: string | undefined,
  retryAfterMs: number | undefined,
  productId: string,
): CloudError => {
  const said = description ? ` The cloud said: "${description}".` : '';
  if (status === 401)
    return cloudError(
      'CLOUD_UNAUTHORIZED',
      'config',
      `The Particle Cloud rejected the access token (401).${said}`,
      {
        status,
        remedy:
          'The token is missing, wrong or expired: create a new one and set it in the station settings.',
      },
    );
  if (status === 403)
    return cloudError(
      'CLOUD_FORBIDDEN',
      'config',
      `The access token may not do this for product ${productId} (403).${said}`,
      {
        status,
        remedy:
          'Use a token of a team member of the product with the scopes devices:import, devices:update, firmware:list and devices:list.',
      },
    );
  if (status === 404)
    return cloudError(
      'CLOUD_NOT_FOUND',
      'config',
      `The Particle Cloud does not know product ${productId} (404).${said}`,
      {
        status,
        remedy:
          'Check the product ID (or slug) in the profile, and that the token belongs to a member of it.',
      },
    );
  if (status === 429)
    return cloudError(
      'CLOUD_RATE_LIMITED',
      'backoff',
      `The Particle Cloud is rate limiting this station (429).`,
      {
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        remedy: 'Nothing to do: the station waits as asked and retries.',
      },
    );
  if (status >= 500)
    return cloudError(
      'CLOUD_SERVER_ERROR',
      'backoff',
      `The Particle Cloud had a server error (${status}).${said}`,
      {
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        remedy: 'Nothing to do: the station retries later.',
      },
    );
  return cloudError(
    'CLOUD_BAD_REQUEST',
    'permanent',
    `The Particle Cloud refused the request (${status}).${said}`,
    {
      status,
      remedy: 'This request will not succeed as sent; report it with the device IDs involved.',
    },
  );
};

/** What an error body said, already redacted: Particle's `error` and `error_description`/`info`. */
export interface ErrorSaid {
  readonly error?: string | undefined;
  readonly description?: string | undefined;
}

export type Classifier = (status: number, said: ErrorSaid) => CloudError | undefined;

/** The client's one way to the cloud: spacing, token, timeout, error classes, schema. */
export type CloudRequest = <S extends z.ZodType>(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body: unknown,
  schema: S | undefined,
  productId: string,
  opts: RequestOptions | undefined,
  classify?: Classifier,
) => Promise<CloudResult<z.infer<S>>>;

/**
 * The unprotect endpoint's refusals. Particle does not publish its error codes for it, so they are
 * recognised by the words of the answer (particle-cli itself matches "Device public key was not
 * found"); anything not recognised falls back to the generic classes, with the cloud's own text.
 * 404 on this path means the product does not hold the device: the product itself was checked at
 * the batch start, and "Product not found" is still told apart.
 */
export const unprotectError =
  (productId: string, deviceId: string): Classifier =>
  (status, said) => {
    if (status !== 400 && status !== 403 && status !== 404) return undefined;
    const text = [said.error, said.description].filter((t) => t !== undefined).join(' ');
    const quoted = text ? ` The cloud said: "${text.slice(0, 300)}".` : '';
    const extra = { status, details: { deviceId, productId } };
    if (/public key was not found/i.test(text))
      return cloudError(
        'CLOUD_DEVICE_KEY_UNKNOWN',
        'permanent',
        `The Particle Cloud has no public key for device ${deviceId}, so it cannot check the device's signature (${status}).${quoted}`,
        {
          ...extra,
          remedy:
            'Check that the station talks to the cloud the device was made for (registration.apiBaseUrl); otherwise set the device aside and contact Particle.',
        },
      );
    if (/signature|fingerprint/i.test(text))
      return cloudError(
        'CLOUD_SIGNATURE_INVALID',
        'permanent',
        `The Particle Cloud did not accept device ${deviceId}'s signature (${status}).${quoted}`,
        {
          ...extra,
          remedy:
            'Retry once; if it repeats, the device does not hold the key the cloud knows for it: set it aside.',
        },
      );
    if (/nonce/i.test(text))
      return cloudError(
        'CLOUD_NONCE_INVALID',
        'permanent',
        `The Particle Cloud no longer accepts this Service Mode request for device ${deviceId} (${status}).${quoted}`,
        { ...extra, remedy: 'Start the Service Mode exchange again from the beginning.' },
      );
    if (/protection/i.test(text))
      return cloudError(
        'CLOUD_PROTECTION_NOT_ACTIVE',
        'config',
        `Product ${productId} does not have Device Protection, so the Particle Cloud cannot put its devices in Service Mode (${status}).${quoted}`,
        {
          ...extra,
          remedy:
            "Check the profile's product: a protected device belongs to a product with Device Protection. Set the device aside if it is in the wrong product.",
        },
      );
    if (status === 404 && !/product/i.test(text))
      return cloudError(
        'CLOUD_DEVICE_NOT_IN_PRODUCT',
        'permanent',
        `Product ${productId} does not hold device ${deviceId} (404).${quoted}`,
        {
          ...extra,
          remedy:
            "Import the device into the product first, or check the profile's product; a device from another product cannot be put in Service Mode here.",
        },
      );
    return undefined;
  };

const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export const createCloudClient = (options: CloudClientOptions): CloudClient => {
  const baseUrl = (options.baseUrl ?? PARTICLE_API_URL).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const limiter =
    options.rateLimiter === null
      ? undefined
      : (options.rateLimiter ?? createRateLimiter(PARTICLE_RATE_BUDGET));

  const request = async <S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body: unknown,
    schema: S | undefined,
    productId: string,
    opts: RequestOptions | undefined,
    classify?: Classifier,
  ): Promise<CloudResult<z.infer<S>>> => {
    const outer = opts?.signal;
    if (outer?.aborted)
      return { ok: false, error: cloudError('CLOUD_ABORTED', 'aborted', 'The request was cancelled.') };
    let token: string | undefined;
    try {
      token = await options.token();
    } catch {
      token = undefined;
    }
    if (!token)
      return {
        ok: false,
        error: cloudError(
          'CLOUD_NO_TOKEN',
          'config',
          'No Particle Cloud access token is configured for this station.',
          {
            remedy: 'Set the token in the station settings (or the environment variable the profile names).',
          },
        ),
      };
    // Spaced before the timeout starts: waiting for the budget is not the cloud being slow.
    if (limiter && !(await limiter.take(outer)))
      return { ok: false, error: cloudError('CLOUD_ABORTED', 'aborted', 'The request was cancelled.') };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
    const init: RequestInit = {
      method,
      signal,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    let status: number;
    let text: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await doFetch(`${baseUrl}${path}`, init);
      status = res.status;
      retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      text = await res.text();
    } catch (e) {
      if (outer?.aborted)
        return { ok: false, error: cloudError('CLOUD_ABORTED', 'aborted', 'The request was cancelled.') };
      if (timeout.aborted)
        return {
          ok: false,
          error: cloudError(
            'CLOUD_TIMEOUT',
            'backoff',
            `The Particle Cloud did not answer within ${Math.round(timeoutMs / 100) / 10} s.`,
            { remedy: 'Nothing to do: the station retries later. If it persists, check the network.' },
          ),
        };
      const cause = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
      return {
        ok: false,
        error: cloudError(
          'CLOUD_NETWORK',
          'backoff',
          `Could not reach the Particle Cloud: ${redact(cause, token)}.`,
          {
            remedy:
              'Nothing to do: the station queues registrations and retries. Check the network if it persists.',
          },
        ),
      };
    }
    // Rate limited anyway (another station or program on the same IP): nobody here sends before
    // the cloud's Retry-After.
    if (status === 429) limiter?.pause(retryAfterMs ?? 1000);
    if (status < 200 || status >= 300) {
      let description: string | undefined;
      let said: ErrorSaid = {};
      try {
        const parsed = errorBodySchema.safeParse(JSON.parse(text));
        if (parsed.success) {
          description = parsed.data.error_description ?? parsed.data.error ?? parsed.data.info;
          const clean = (t: string | undefined) => (t === undefined ? undefined : redact(t, token));
          said = {
            error: clean(parsed.data.error),
            description: clean(parsed.data.error_description ?? parsed.data.info),
          };
        }
      } catch {
        // A proxy's HTML error page: the status says enough.
      }
      if (description !== undefined) description = redact(description, token).slice(0, 300);
      const special = classify?.(status, said);
      return { ok: false, error: special ?? statusError(status, description, retryAfterMs, productId) };
    }
    if (schema === undefined) return { ok: true, value: undefined as z.infer<S> };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      // A 2xx we cannot read did not acknowledge anything we can rely on: treat as transient.
      return {
        ok: false,
        error: cloudError(
          'CLOUD_BAD_RESPONSE',
          'backoff',
          `The Particle Cloud answered ${method} ${path} with a body the station does not understand.`,
          { status, remedy: 'The station retries; if it persists, check the API base URL in the profile.' },
        ),
      };
    return { ok: true, value: parsed.data };
  };

  const p = (productId: string) => `/v1/products/${encodeURIComponent(productId)}`;

  const listProductDevices: CloudClient['listProductDevices'] = async (productId, page = {}, opts) => {
    const query = new URLSearchParams({ page: String(page.page ?? 1), perPage: String(page.perPage ?? 100) });
    const r = await request(
      'GET',
      `${p(productId)}/devices?${query}`,
      undefined,
      deviceListSchema,
      productId,
      opts,
    );
    if (!r.ok) return r;
    return { ok: true, value: { devices: r.value.devices, totalPages: r.value.meta?.total_pages ?? 1 } };
  };

  const sendRequest: CloudRequest = request;

  return {
    baseUrl,
    rateLimiter: limiter,
    ...setupEndpoints(sendRequest, p),
    importDevices: (productId, deviceIds, opts) => {
      const body = {
        ...(deviceIds.length === 1 ? { id: deviceIds[0] } : { ids: [...deviceIds] }),
        ...(opts?.importSims ? { import_sims: true } : {}),
      };
      return request(
        'POST',
        `${p(productId)}/devices`,
        body,
        importResponseSchema,
        productId,
        opts,
        opts?.importSims
          ? simRejection(
              productId,
              deviceIds.length === 1 ? `device ${deviceIds[0]}` : `${deviceIds.length} devices`,
            )
          : undefined,
      );
    },
    updateDevice: async (productId, deviceId, settings, opts) => {
      const body: Record<string, unknown> = {};
      if (settings.name !== undefined) body.name = settings.name;
      if (settings.notes !== undefined) body.notes = settings.notes;
      if (settings.development !== undefined) body.development = settings.development;
      if (settings.desiredFirmwareVersion !== undefined)
        body.desired_firmware_version = settings.desiredFirmwareVersion;
      if (settings.groups !== undefined) body.groups = [...settings.groups];
      const r = await request(
        'PUT',
        `${p(productId)}/devices/${encodeURIComponent(deviceId)}`,
        body,
        undefined,
        productId,
        opts,
        // A PUT without `groups` (the update action) gets the device-level refusal classes; the
        // earlier {development, groups} settings keep theirs (a 404 there blocks the product).
        settings.groups === undefined
          ? updateRefusal(productId, deviceId, settings.desiredFirmwareVersion ?? undefined)
          : undefined,
      );
      return r.ok ? { ok: true, value: undefined } : r;
    },
    listProductFirmware: (productId, opts) =>
      request('GET', `${p(productId)}/firmware`, undefined, firmwareListSchema, productId, opts),
    listProductDevices,
    listAllProductDevices: async (productId, opts) => {
      const all: ProductDevice[] = [];
      for (let page = 1; ; page++) {
        const r = await listProductDevices(productId, { page, perPage: 100 }, opts);
        if (!r.ok) return r;
        all.push(...r.value.devices);
        if (page >= r.value.totalPages || r.value.devices.length === 0) return { ok: true, value: all };
      }
    },
    checkToken: async (productId, opts) => {
      const r = await request('GET', p(productId), undefined, productSchema, productId, opts);
      return r.ok ? { ok: true, value: r.value.product } : r;
    },
    unprotectPrepare: async (productId, deviceId, opts) => {
      const r = await request(
        'PUT',
        `${p(productId)}/devices/${encodeURIComponent(deviceId)}/unprotect`,
        { action: 'prepare' },
        unprotectPrepareSchema,
        productId,
        opts,
        unprotectError(productId, deviceId),
      );
      return r.ok ? { ok: true, value: { serverNonce: r.value.server_nonce } } : r;
    },
    unprotectConfirm: async (productId, deviceId, proof, opts) => {
      const r = await request(
        'PUT',
        `${p(productId)}/devices/${encodeURIComponent(deviceId)}/unprotect`,
        {
          action: 'confirm',
          server_nonce: base64(proof.serverNonce),
          device_nonce: base64(proof.deviceNonce),
          device_signature: base64(proof.deviceSignature),
          device_public_key_fingerprint: base64(proof.devicePublicKeyFingerprint),
        },
        unprotectConfirmSchema,
        productId,
        opts,
        unprotectError(productId, deviceId),
      );
      return r.ok
        ? {
            ok: true,
            value: {
              serverSignature: r.value.server_signature,
              serverPublicKeyFingerprint: r.value.server_public_key_fingerprint,
            },
          }
        : r;
    },
  };
};

export type { CloudError, CloudErrorCode };

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fail } from '../errors/result';
import {
  type FaultKind,
  type FaultPlan,
  NO_FAULTS,
  parseFaultSpec,
  pickFault,
  seededRandom,
} from './mock-faults';
import { type KeyInput, ProtectionAuthority } from './mock-protection';
import { type MockRateLimit, SlidingWindow } from './mock-rate-limit';
import {
  handleSetupApi,
  importDeviceSims,
  type MockGroup,
  type MockSim,
  type SimRegistry,
  simRefusal,
} from './mock-setup';

/**
 * A mock Particle Cloud for tests and demos: the endpoints the station uses, with the documented
 * request and response shapes, in-memory state, token scopes and seeded fault injection.
 * Loopback only: it refuses to bind anywhere else, because it accepts any token it was given.
 */

export type MockScope =
  | 'devices:import'
  | 'devices:update'
  | 'devices:list'
  | 'firmware:list'
  | 'products:get'
  | 'groups:list'
  | 'groups:create'
  | 'groups:update'
  | 'groups:remove'
  | 'sims:import';
export const ALL_SCOPES: readonly MockScope[] = [
  'devices:import',
  'devices:update',
  'devices:list',
  'firmware:list',
  'products:get',
  'groups:list',
  'groups:create',
  'groups:update',
  'groups:remove',
  'sims:import',
];

export interface MockDevice {
  readonly id: string;
  development: boolean;
  groups: string[];
  name?: string;
  notes?: string;
  /** The firmware lock (`desired_firmware_version`); null once unlocked. */
  desiredFirmwareVersion?: number | null;
  readonly importedAt: string;
}

export interface MockFirmware {
  version: number;
  title: string;
  product_default: boolean;
  uploaded_on: string;
}

interface MockProduct {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
  readonly platformId: number;
  readonly devices: Map<string, MockDevice>;
  readonly firmware: MockFirmware[];
  /** Device Protection is active: its devices may be put in Service Mode. */
  deviceProtection: boolean;
  readonly groups: Map<string, MockGroup>;
  readonly sims: Map<string, MockSim>;
}

export type MockResponseClass =
  | 'ok'
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'rate-limited'
  | 'server-error'
  | 'timeout'
  | 'drop';

export interface MockRequestLog {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  status?: number;
  response?: MockResponseClass;
  fault?: FaultKind;
  /** The request changed state in the cloud (even if its answer was then lost). */
  applied: boolean;
  /** For imports: the devices this request newly added to the product. */
  imported?: string[];
  /** Answered 429 by the mock's rate limit (not by an injected fault). */
  rateLimited?: boolean;
  /** The whole answer was handed to the socket. */
  delivered: boolean;
  readonly at: number;
}

export interface MockCloudOptions {
  readonly port?: number;
  /** Only loopback addresses are accepted. */
  readonly host?: string;
  readonly products?: readonly {
    id: number;
    slug?: string;
    platformId?: number;
    /** Seed a released default firmware with this version. */
    releasedFirmware?: number;
    /** Device Protection active (Service Mode through `…/unprotect`). Default false. */
    deviceProtection?: boolean;
  }[];
  readonly tokens?: readonly { token: string; scopes?: readonly MockScope[] }[];
  readonly faults?: string;
  /** Device IDs claimed outside the organization: imports report them in nonmemberDeviceIds. */
  readonly nonmemberDevices?: readonly string[];
  /** Device IDs under Device Protection elsewhere: reported in protectedDeviceIds. */
  readonly protectedDevices?: readonly string[];
  /**
   * The key the mock signs Service Mode confirmations with (P-256, PEM or KeyObject). A device
   * accepts only the key it trusts: pass the simulator's cloud key for simulated devices built
   * without `serverPublicKey`, or give the devices `protectionPublicKeyPem`. Default: a fresh key.
   */
  readonly protectionKey?: KeyInput;
  /** Device ID → the device's public key (PEM or KeyObject), as Particle knows it from manufacturing. */
  readonly deviceKeys?: Readonly<Record<string, KeyInput>>;
  /**
   * Simulated devices, known to this cloud as Particle knows real ones from manufacturing:
   * `publicKeyFor(id)` gives any device's public key (core/sim's `simDeviceKeys(id).publicKey`),
   * and a product with Device Protection counts such a device as its own for Service Mode (a
   * device is protected by the product that holds it). Pair with `protectionKey:
   * simCloudKeys().privateKey`, the key simulated devices trust. The caller passes the function,
   * so the mock itself never loads core/sim.
   */
  readonly simulatedDevices?: {
    readonly publicKeyFor: (deviceId: string) => KeyInput | undefined;
    /** The ICCID of a simulated cellular device's SIM (core/sim's `simCellularIds(id).iccid`), for import_sims. */
    readonly iccidFor?: (deviceId: string) => string | undefined;
  };
  /** Device ID → the ICCID of its SIM, as Particle knows it from manufacturing (import_sims). */
  readonly deviceSims?: Readonly<Record<string, string>>;
  /** ICCID or device ID → why its SIM cannot be imported (owned by another account, …). */
  readonly refusedSims?: Readonly<Record<string, string>>;
  /** Enforced like Particle's per-IP limit: 429 with Retry-After beyond it. Default none. */
  readonly rateLimit?: MockRateLimit;
}

export interface MockCloud {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** Replaces the fault plan (the seed restarts the random sequence). */
  setFaults(spec: string): void;
  readonly faultPlan: FaultPlan;
  requests(): readonly MockRequestLog[];
  clearRequests(): void;
  devices(productId: number | string): MockDevice[];
  addProduct(p: {
    id: number;
    slug?: string;
    platformId?: number;
    releasedFirmware?: number;
    deviceProtection?: boolean;
  }): void;
  /** Puts a device in a product without an import request (a device already registered). */
  addDevice(productId: number | string, deviceId: string): void;
  setDeviceProtection(productId: number | string, active: boolean): void;
  /** The public key the cloud knows for a device; without one, `unprotect` answers "Device public key was not found". */
  addDeviceKey(deviceId: string, publicKey: KeyInput): void;
  /** Replaces the key Service Mode confirmations are signed with. */
  setProtectionKey(privateKey: KeyInput): void;
  /** The public half of the signing key (SPKI PEM), for devices that should trust this mock. */
  readonly protectionPublicKeyPem: string;
  addToken(token: string, scopes?: readonly MockScope[]): void;
  addFirmware(productId: number | string, version: number, opts?: { released?: boolean }): void;
  addNonmember(deviceId: string): void;
  addProtected(deviceId: string): void;
  /** The SIM the cloud knows for a device (import_sims imports it). */
  addDeviceSim(deviceId: string, iccid: string): void;
  /** Refuse this SIM (by ICCID or device ID) with `reason`, as the cloud would. */
  refuseSim(key: string, reason: string): void;
  /** The product's groups, with their device counts. */
  groups(productId: number | string): { name: string; deviceCount: number }[];
  /** The product's SIMs. */
  sims(productId: number | string): MockSim[];
  /** Changes (or, with undefined, lifts) the rate limit; the window starts afresh. */
  setRateLimit(limit: MockRateLimit | undefined): void;
  readonly rateLimit: MockRateLimit | undefined;
}

const DEVICE_ID = /^[0-9a-f]{24}$/;

const classOf = (status: number): MockResponseClass =>
  status < 300
    ? 'ok'
    : status === 401
      ? 'unauthorized'
      : status === 403
        ? 'forbidden'
        : status === 404
          ? 'not-found'
          : status === 429
            ? 'rate-limited'
            : status >= 500
              ? 'server-error'
              : 'bad-request';

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

export const startMockCloud = async (options: MockCloudOptions = {}): Promise<MockCloud> => {
  const host = options.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host))
    fail('MOCK_NOT_LOOPBACK', `The mock cloud binds to loopback only, not ${host}.`, {
      remedy: 'Use 127.0.0.1.',
    });
  const products = new Map<string, MockProduct>();
  const tokens = new Map<string, Set<MockScope>>();
  const nonmember = new Set((options.nonmemberDevices ?? []).map((d) => d.toLowerCase()));
  const protectedIds = new Set((options.protectedDevices ?? []).map((d) => d.toLowerCase()));
  const authority = new ProtectionAuthority(options.protectionKey);
  const registry: SimRegistry = {
    deviceSims: new Map(Object.entries(options.deviceSims ?? {}).map(([d, i]) => [d.toLowerCase(), i])),
    refused: new Map(Object.entries(options.refusedSims ?? {}).map(([k, r]) => [k.toLowerCase(), r])),
    resolve: options.simulatedDevices?.iccidFor,
  };
  const limitWindow = new SlidingWindow(options.rateLimit);
  for (const [id, key] of Object.entries(options.deviceKeys ?? {})) authority.addDeviceKey(id, key);
  const simulated = options.simulatedDevices;
  if (simulated) authority.resolveKeysWith(simulated.publicKeyFor);
  const log: MockRequestLog[] = [];
  const sockets = new Set<Socket>();
  let seq = 0;
  let plan: FaultPlan = NO_FAULTS;
  let random = seededRandom(plan.seed);
  /** What is left of the plan's `KIND*N` faults; every new plan starts its own. */
  let queued: FaultKind[] = [];
  const applyPlan = (next: FaultPlan) => {
    plan = next;
    random = seededRandom(plan.seed);
    queued = [...plan.sequence];
  };

  const setFaults = (spec: string) => {
    const r = parseFaultSpec(spec);
    if (!r.ok) fail(r.error.code, r.error.message, r.error.remedy ? { remedy: r.error.remedy } : {});
    else applyPlan(r.value);
  };

  const addProduct: MockCloud['addProduct'] = (p) => {
    const product: MockProduct = {
      id: p.id,
      slug: p.slug ?? `product-${p.id}`,
      name: `Product ${p.id}`,
      platformId: p.platformId ?? 13,
      devices: new Map(),
      firmware: [],
      deviceProtection: p.deviceProtection ?? false,
      groups: new Map(),
      sims: new Map(),
    };
    if (p.releasedFirmware !== undefined)
      product.firmware.push({
        version: p.releasedFirmware,
        title: `v${p.releasedFirmware}`,
        product_default: true,
        uploaded_on: new Date().toISOString(),
      });
    products.set(String(p.id), product);
    products.set(product.slug, product);
  };
  for (const p of options.products ?? []) addProduct(p);
  for (const t of options.tokens ?? []) tokens.set(t.token, new Set(t.scopes ?? ALL_SCOPES));
  if (options.faults) setFaults(options.faults);

  const findProduct = (idOrSlug: string | number) => products.get(String(idOrSlug));

  type Reply = { status: number; body: unknown; headers?: Record<string, string> };
  const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
    status,
    body,
    ...(headers ? { headers } : {}),
  });

  /** The API proper; returns the reply and whether it changed state. */
  const handleApi = (
    method: string,
    url: URL,
    auth: string | undefined,
    body: unknown,
  ): { reply: Reply; applied: boolean; imported?: string[] } => {
    const no = (reply: Reply) => ({ reply, applied: false });
    const token = /^Bearer (.+)$/i.exec(auth ?? '')?.[1];
    const scopes = token === undefined ? undefined : tokens.get(token);
    // Never echo the token back: real clouds do not, and the secret-leak tests count on it.
    if (!scopes)
      return no(
        json(401, { error: 'invalid_token', error_description: 'The access token provided is invalid.' }),
      );
    const m = /^\/v1\/products\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return no(json(404, { error: 'Not found' }));
    const product = findProduct(decodeURIComponent(m[1] ?? ''));
    if (!product) return no(json(404, { error: 'Product not found' }));
    const need = (scope: MockScope) =>
      scopes.has(scope)
        ? undefined
        : json(403, { error: 'insufficient_scope', error_description: `Requires ${scope}.` });
    const sub = m[2];
    const dm = sub === undefined ? null : /^\/devices\/([^/]+)(\/unprotect)?$/.exec(sub);
    const deviceId = dm?.[1] ? decodeURIComponent(dm[1]).toLowerCase() : undefined;
    const unprotect = dm?.[2] !== undefined;
    if (sub !== undefined && !unprotect) {
      const setup = handleSetupApi(method, sub, url, body, product, registry, need);
      if (setup) return setup;
    }

    if (sub === undefined && method === 'GET') {
      const denied = need('products:get');
      if (denied) return no(denied);
      return no(
        json(200, {
          product: {
            id: product.id,
            slug: product.slug,
            name: product.name,
            platform_id: product.platformId,
            // particle-cli reads `device_protection === 'active'` (src/cmd/device-protection.js).
            device_protection: product.deviceProtection ? 'active' : '',
          },
        }),
      );
    }
    if (sub === '/firmware' && method === 'GET') {
      const denied = need('firmware:list');
      return no(denied ?? json(200, product.firmware));
    }
    if (sub === '/devices' && method === 'GET') {
      const denied = need('devices:list');
      if (denied) return no(denied);
      const perPage = Math.max(1, Number(url.searchParams.get('perPage') ?? 25) || 25);
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const all = [...product.devices.values()];
      const slice = all.slice((page - 1) * perPage, page * perPage);
      return no(
        json(200, {
          devices: slice.map((d) => ({
            id: d.id,
            development: d.development,
            groups: d.groups,
            product_id: product.id,
          })),
          customers: [],
          meta: { total_pages: Math.max(1, Math.ceil(all.length / perPage)) },
        }),
      );
    }
    if (sub === '/devices' && method === 'POST') {
      const denied = need('devices:import');
      if (denied) return no(denied);
      const b = (typeof body === 'object' && body !== null ? body : {}) as {
        id?: unknown;
        ids?: unknown;
        import_sims?: unknown;
      };
      const ids: unknown[] = Array.isArray(b.ids) ? b.ids : b.id !== undefined ? [b.id] : [];
      if (ids.length === 0 || !ids.every((x) => typeof x === 'string'))
        return no(json(400, { error: 'Please provide a device id, an array of ids, or a file.' }));
      const withSims = b.import_sims === true || b.import_sims === 'true';
      if (withSims) {
        // Particle does not document per-SIM results of import_sims; the mock refuses the whole
        // request naming the SIM, and the station isolates the device (docs/cloud.md).
        const refused = simRefusal(
          registry,
          (ids as string[]).map((i) => i.trim().toLowerCase()),
        );
        if (refused) return no(json(400, { ok: false, error: refused }));
      }
      const result = {
        updated: 0,
        updatedDeviceIds: [] as string[],
        existingDeviceIds: [] as string[],
        nonmemberDeviceIds: [] as string[],
        invalidDeviceIds: [] as string[],
        protectedDeviceIds: [] as string[],
      };
      let applied = false;
      for (const raw of ids as string[]) {
        const id = raw.trim().toLowerCase();
        if (!DEVICE_ID.test(id)) result.invalidDeviceIds.push(raw);
        else if (nonmember.has(id)) result.nonmemberDeviceIds.push(id);
        else if (protectedIds.has(id)) result.protectedDeviceIds.push(id);
        else if (product.devices.has(id)) result.existingDeviceIds.push(id);
        else {
          product.devices.set(id, {
            id,
            development: false,
            groups: [],
            importedAt: new Date().toISOString(),
          });
          result.updatedDeviceIds.push(id);
          applied = true;
        }
      }
      result.updated = result.updatedDeviceIds.length;
      if (withSims) {
        const before = product.sims.size;
        importDeviceSims(product, registry, [...result.updatedDeviceIds, ...result.existingDeviceIds]);
        applied ||= product.sims.size > before;
      }
      return { reply: json(200, result), applied, imported: result.updatedDeviceIds };
    }
    if (unprotect && deviceId !== undefined && method === 'PUT') {
      // Which scope the real endpoint wants is not published; unprotecting updates the device.
      const denied = need('devices:update');
      if (denied) return no(denied);
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      if (b.action !== 'prepare' && b.action !== 'confirm')
        return no(json(400, { ok: false, error: 'action must be prepare or confirm' }));
      if (!product.deviceProtection)
        return no(json(400, { ok: false, error: 'Device Protection is not active for this product.' }));
      const member = product.devices.has(deviceId) || (simulated && authority.hasDeviceKey(deviceId));
      if (!member) return no(json(404, { ok: false, error: 'Device not found.' }));
      const r = b.action === 'prepare' ? authority.prepare(deviceId) : authority.confirm(deviceId, b);
      return { reply: json(r.status, r.body), applied: r.applied };
    }
    return no(json(405, { error: 'Method not allowed' }));
  };

  const handleAdmin = (method: string, url: URL, body: unknown): Reply => {
    if (url.pathname === '/__admin/requests' && method === 'GET') return json(200, log);
    if (url.pathname === '/__admin/faults' && method === 'GET') return json(200, plan);
    if (url.pathname === '/__admin/faults' && method === 'POST') {
      const spec = (body as { spec?: unknown } | undefined)?.spec;
      const r = parseFaultSpec(typeof spec === 'string' ? spec : '');
      if (!r.ok) return json(400, { error: r.error.message });
      applyPlan(r.value);
      return json(200, plan);
    }
    if (url.pathname === '/__admin/rate-limit' && method === 'GET')
      return json(200, limitWindow.current ?? {});
    if (url.pathname === '/__admin/rate-limit' && method === 'POST') {
      const b = (body ?? {}) as { requests?: unknown; windowMs?: unknown };
      if (b.requests === undefined) limitWindow.set(undefined);
      else if (
        typeof b.requests === 'number' &&
        typeof b.windowMs === 'number' &&
        b.requests > 0 &&
        b.windowMs > 0
      )
        limitWindow.set({ requests: b.requests, windowMs: b.windowMs });
      else
        return json(400, {
          error: 'Give { requests, windowMs } (positive numbers), or {} to lift the limit.',
        });
      return json(200, limitWindow.current ?? {});
    }
    const d = /^\/__admin\/(devices|groups|sims)\/([^/]+)$/.exec(url.pathname);
    if (d && method === 'GET') {
      const product = findProduct(decodeURIComponent(d[2] ?? ''));
      if (!product) return json(404, { error: 'Product not found' });
      if (d[1] === 'groups')
        return json(
          200,
          [...product.groups.values()].map((g) => ({
            ...g,
            device_count: [...product.devices.values()].filter((x) => x.groups.includes(g.name)).length,
          })),
        );
      if (d[1] === 'sims') return json(200, [...product.sims.values()]);
      return json(200, [...product.devices.values()]);
    }
    return json(404, { error: 'Not found' });
  };

  const send = (res: ServerResponse, entry: MockRequestLog | undefined, reply: Reply) => {
    if (entry) {
      entry.status = reply.status;
      entry.response = classOf(reply.status);
    }
    res.on('finish', () => {
      if (entry) entry.delivered = true;
    });
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const text = await readBody(req).catch(() => '');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
        if (!url.pathname.startsWith('/__admin/')) {
          const entry: MockRequestLog = {
            seq: ++seq,
            method,
            path: url.pathname,
            body: text,
            applied: false,
            delivered: false,
            at: Date.now(),
          };
          log.push(entry);
          return send(res, entry, json(400, { error: 'Invalid JSON body' }));
        }
      }
      if (url.pathname.startsWith('/__admin/')) return send(res, undefined, handleAdmin(method, url, body));

      const entry: MockRequestLog = {
        seq: ++seq,
        method,
        path: url.pathname + url.search,
        body,
        applied: false,
        delivered: false,
        at: Date.now(),
      };
      log.push(entry);
      const admitted = limitWindow.admit(Date.now());
      if (!admitted.ok) {
        entry.rateLimited = true;
        return send(
          res,
          entry,
          json(
            429,
            {
              error: 'Too many requests',
              error_description: 'Rate limit exceeded; retry after the given time.',
            },
            { 'retry-after': String(Math.ceil(admitted.retryAfterMs) / 1000) },
          ),
        );
      }
      const fault = queued.shift() ?? pickFault(plan, random);
      if (fault) entry.fault = fault;
      switch (fault) {
        case 'drop':
          entry.response = 'drop';
          req.socket.destroy();
          return;
        case 'timeout':
          // Hold the request open: the client's own timeout must end it.
          entry.response = 'timeout';
          return;
        case '500':
        case '502':
        case '503':
          return send(res, entry, json(Number(fault), { error: 'Internal server error (injected)' }));
        case '429':
          return send(
            res,
            entry,
            json(
              429,
              { error: 'Too many requests (injected)' },
              { 'retry-after': String(plan.retryAfterSeconds) },
            ),
          );
        case '401':
          return send(
            res,
            entry,
            json(401, { error: 'invalid_token', error_description: 'The access token provided is invalid.' }),
          );
        case '403':
          return send(res, entry, json(403, { error: 'insufficient_scope (injected)' }));
        case 'slow':
          await new Promise((r) => setTimeout(r, plan.slowMs));
          break;
        case 'slow503':
          // An overloaded front end: it takes its time, then says to come back later.
          await new Promise((r) => setTimeout(r, plan.slowMs));
          return send(
            res,
            entry,
            json(
              503,
              { error: 'Service unavailable (injected)' },
              { 'retry-after': String(plan.retryAfterSeconds) },
            ),
          );
        default:
          break;
      }
      const { reply, applied, imported } = handleApi(method, url, req.headers.authorization, body);
      entry.applied = applied;
      if (imported) entry.imported = imported;
      if (fault === 'dropafter') {
        entry.response = 'drop';
        entry.status = reply.status;
        req.socket.destroy();
        return;
      }
      send(res, entry, reply);
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${port}`,
    port,
    get faultPlan() {
      return plan;
    },
    setFaults,
    requests: () => log,
    clearRequests: () => {
      log.length = 0;
    },
    devices: (productId) => [...(findProduct(productId)?.devices.values() ?? [])],
    addProduct,
    addDevice: (productId, deviceId) => {
      const product = findProduct(productId);
      const id = deviceId.toLowerCase();
      if (!product || product.devices.has(id)) return;
      product.devices.set(id, { id, development: false, groups: [], importedAt: new Date().toISOString() });
    },
    setDeviceProtection: (productId, active) => {
      const product = findProduct(productId);
      if (product) product.deviceProtection = active;
    },
    addDeviceKey: (deviceId, key) => authority.addDeviceKey(deviceId, key),
    setProtectionKey: (key) => authority.setKey(key),
    get protectionPublicKeyPem() {
      return authority.publicKeyPem;
    },
    addToken: (token, scopes) => tokens.set(token, new Set(scopes ?? ALL_SCOPES)),
    addFirmware: (productId, version, opts = {}) => {
      const product = findProduct(productId);
      if (!product) return;
      if (opts.released) for (const f of product.firmware) f.product_default = false;
      product.firmware.push({
        version,
        title: `v${version}`,
        product_default: opts.released ?? false,
        uploaded_on: new Date().toISOString(),
      });
    },
    addNonmember: (id) => nonmember.add(id.toLowerCase()),
    addProtected: (id) => protectedIds.add(id.toLowerCase()),
    addDeviceSim: (deviceId, iccid) => registry.deviceSims.set(deviceId.toLowerCase(), iccid),
    refuseSim: (key, reason) => registry.refused.set(key.toLowerCase(), reason),
    groups: (productId) => {
      const product = findProduct(productId);
      if (!product) return [];
      return [...product.groups.values()].map((g) => ({
        name: g.name,
        deviceCount: [...product.devices.values()].filter((d) => d.groups.includes(g.name)).length,
      }));
    },
    sims: (productId) => [...(findProduct(productId)?.sims.values() ?? [])],
    setRateLimit: (limit) => limitWindow.set(limit),
    get rateLimit() {
      return limitWindow.current;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};

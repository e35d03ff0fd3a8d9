import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CloudClient, createCloudClient } from '../../core/cloud/client';
import { type CloudSetup, resolveCloudSetup, shipmentDay } from '../../core/cloud/cloud-setup';
import { type MockCloud, type MockRequestLog, startMockCloud } from '../../core/cloud/mock-server';
import { createDrain } from '../../core/cloud/outbox-drain';
import { createRateLimiter } from '../../core/cloud/rate-budget';
import { createRegistrar } from '../../core/cloud/register-step';
import { type Platform, platformByName } from '../../core/platforms';
import { resolveIdentity } from '../../core/sim';
import { openDatabase } from '../../core/store/database';
import { registrationState } from '../../core/store/outbox';
import { deviceId, PRODUCT, TOKEN } from './helpers';

// Cloud setup through the durable outbox against the mock cloud: a cellular batch imported with
// its SIMs, named, noted, grouped (static and date group), locked to the product firmware, each
// request once, inside the rate budget; the lot growing; another station renaming the day's group;
// a rate limit far below the station's budget; a SIM the cloud refuses.

const FAST = { baseMs: 20, maxMs: 200 };
const P = String(PRODUCT);
const AT = new Date('2026-12-04T10:00:00Z');
const DAY = shipmentDay(AT, 'UTC');
const boron = platformByName('boron') as Platform;
/** The simulator's identity for device n: the same serial and ICCID its USB requests report. */
const identityOf = (n: number) => {
  const id = resolveIdentity(deviceId(n), boron);
  return { serialNumber: id.serialNumber, iccid: id.cellular?.iccid, imei: id.cellular?.imei };
};

const setupFor = (): CloudSetup => {
  const r = resolveCloudSetup({
    cellular: true,
    groups: ['line-1'],
    setup: {
      name: '{product}-{serial}',
      notes: 'lot {lot}, station {station}',
      dateGroup: true,
      lockFirmwareVersion: true,
    },
    productFirmwareVersion: 5,
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

const key = (r: MockRequestLog) => `${r.method} ${r.path.split('?')[0]}`;
/** The most requests that arrived in any window of `windowMs`. */
const busiest = (log: readonly MockRequestLog[], windowMs: number): number => {
  const at = log.map((r) => r.at).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while ((at[i] ?? 0) - (at[j] ?? 0) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};
const devicesIn = (log: readonly MockRequestLog[], pathKey: string): string[] =>
  log
    .filter((r) => key(r) === pathKey && r.status !== undefined && r.status < 300)
    .flatMap((r) => {
      const b = r.body as { id?: string; ids?: string[]; devices?: string[] };
      return b.ids ?? b.devices ?? (b.id ? [b.id] : []);
    });

describe('cloud setup through the outbox', () => {
  let mock: MockCloud;
  let db: DatabaseSync;
  beforeEach(async () => {
    const deviceSims: Record<string, string> = {};
    for (let n = 1; n <= 40; n++) deviceSims[deviceId(n)] = identityOf(n).iccid ?? '';
    mock = await startMockCloud({
      products: [{ id: PRODUCT, slug: 'widget', releasedFirmware: 5 }],
      tokens: [{ token: TOKEN }],
      deviceSims,
    });
    db = openDatabase(':memory:');
  });
  afterEach(() => mock.close());

  const station = (client: CloudClient, setup = setupFor()) => ({
    drain: createDrain({ db, client, backoff: FAST }),
    registrar: createRegistrar({
      db,
      productId: PRODUCT,
      setup,
      line: { product: 'widget', lot: 'L-7', station: 'st-2', timeZone: 'UTC' },
      now: () => AT,
    }),
  });

  it('a 16-device cellular batch: SIMs imported, named, noted, locked, grouped with date group 0016, each once, in budget', async () => {
    const limit = { requests: 20, windowMs: 2000 };
    mock.setRateLimit(limit);
    // The station's slice leaves the mock a little room for arrival jitter.
    const client = createCloudClient({
      baseUrl: mock.url,
      token: async () => TOKEN,
      rateLimiter: createRateLimiter({ requests: 18, windowMs: 2000, burst: 5 }),
    });
    const { drain, registrar } = station(client);
    for (let n = 1; n <= 16; n++) {
      const r = await registrar.register(deviceId(n), undefined, identityOf(n));
      expect(r).toMatchObject({ state: 'queued', skipped: [] });
    }
    const report = await drain.drainNow({ deadlineMs: 30_000 });
    expect(report.remaining).toEqual({ pending: 0, done: 64, failed: 0, blocked: 0 });
    for (let n = 1; n <= 16; n++)
      expect(registrationState(db, PRODUCT, deviceId(n)).state).toBe('registered');

    const devices = mock.devices(P);
    expect(devices).toHaveLength(16);
    for (let n = 1; n <= 16; n++)
      expect(devices.find((d) => d.id === deviceId(n))).toMatchObject({
        name: `widget-${identityOf(n).serialNumber}`,
        notes: 'lot L-7, station st-2',
        desiredFirmwareVersion: 5,
        groups: ['line-1', `${DAY}_0016`],
      });
    expect(mock.groups(P)).toEqual([
      { name: 'line-1', deviceCount: 16 },
      { name: `${DAY}_0016`, deviceCount: 16 },
    ]);
    expect(
      mock
        .sims(P)
        .map((s) => s.iccid)
        .sort(),
    ).toEqual(Array.from({ length: 16 }, (_, i) => identityOf(i + 1).iccid).sort());

    // Each device once per action, in the fewest requests: one import with SIMs, one PUT per
    // device (names differ), two group creations, one look-up of the day, one batch assignment.
    const log = mock.requests();
    const ids = Array.from({ length: 16 }, (_, i) => deviceId(i + 1)).sort();
    expect(devicesIn(log, `POST /v1/products/${P}/devices`).sort()).toEqual(ids);
    expect(log.find((r) => key(r) === `POST /v1/products/${P}/devices`)?.body).toMatchObject({
      import_sims: true,
    });
    expect(
      log
        .filter((r) => /\/devices\/[0-9a-f]{24}$/.test(r.path))
        .map((r) => r.path.split('/').pop())
        .sort(),
    ).toEqual(ids);
    expect(devicesIn(log, `PUT /v1/products/${P}/devices`).sort()).toEqual(ids);
    expect(log.map(key).filter((k) => k.includes('/groups'))).toEqual([
      `POST /v1/products/${P}/groups`,
      `GET /v1/products/${P}/groups`,
      `POST /v1/products/${P}/groups`,
    ]);
    expect(log).toHaveLength(21);
    expect(report.requests).toBe(21);
    // Inside the budget: nothing was refused, no window held more than the limit.
    expect(log.filter((r) => r.status === 429)).toEqual([]);
    expect(busiest(log, limit.windowMs)).toBeLessThanOrEqual(limit.requests);
  });

  it('the lot grows: new devices join the day’s group, which is renamed to the new count', async () => {
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const { drain, registrar } = station(client);
    for (let n = 1; n <= 16; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    await drain.drainNow({ deadlineMs: 30_000 });
    mock.clearRequests();
    for (let n = 17; n <= 19; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    const report = await drain.drainNow({ deadlineMs: 30_000 });
    expect(report.remaining.pending).toBe(0);
    expect(mock.groups(P)).toEqual([
      { name: 'line-1', deviceCount: 19 },
      { name: `${DAY}_0019`, deviceCount: 19 },
    ]);
    expect(mock.requests().map(key)).toEqual([
      `POST /v1/products/${P}/devices`,
      ...[17, 18, 19].map((n) => `PUT /v1/products/${P}/devices/${deviceId(n)}`),
      `PUT /v1/products/${P}/devices`,
      `GET /v1/products/${P}/groups/${DAY}_0016`,
      `PUT /v1/products/${P}/groups/${DAY}_0016`,
    ]);
  });

  it('another station renamed the day’s group meanwhile: the station finds it again and the count stays true', async () => {
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const { drain, registrar } = station(client);
    for (let n = 1; n <= 4; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    await drain.drainNow({ deadlineMs: 30_000 });
    expect(mock.groups(P).map((g) => g.name)).toContain(`${DAY}_0004`);
    // Station B (its own outbox) adds two devices of its own to the same day's group.
    const other = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, rateLimiter: null });
    await other.importDevices(P, [deviceId(30), deviceId(31)]);
    await other.addDevicesToGroups(P, [deviceId(30), deviceId(31)], [`${DAY}_0004`]);
    await other.renameGroup(P, `${DAY}_0004`, `${DAY}_0006`);
    for (let n = 5; n <= 6; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    const report = await drain.drainNow({ deadlineMs: 30_000 });
    expect(report.remaining.pending).toBe(0);
    expect(mock.groups(P).find((g) => g.name.startsWith(DAY))).toEqual({
      name: `${DAY}_0008`,
      deviceCount: 8,
    });
  });

  it('a rate limit far below the budget: the outbox waits as told and loses nothing; each device imported once', async () => {
    mock.setRateLimit({ requests: 4, windowMs: 400 });
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const { drain, registrar } = station(client);
    for (let n = 1; n <= 12; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    const report = await drain.drainNow({ deadlineMs: 60_000 });
    expect(report.remaining).toEqual({ pending: 0, done: 48, failed: 0, blocked: 0 });
    const log = mock.requests();
    expect(log.some((r) => r.rateLimited)).toBe(true);
    expect(report.retries).toBeGreaterThan(0);
    // Exactly once each, counted from what the cloud applied.
    const imported = log.flatMap((r) => r.imported ?? []);
    expect(imported.sort()).toEqual(Array.from({ length: 12 }, (_, i) => deviceId(i + 1)).sort());
    expect(mock.groups(P).find((g) => g.name.startsWith(DAY))).toEqual({
      name: `${DAY}_0012`,
      deviceCount: 12,
    });
    for (let n = 1; n <= 12; n++)
      expect(registrationState(db, PRODUCT, deviceId(n)).state).toBe('registered');
  });

  it('a SIM the cloud refuses is its own outcome: the device is registered without it, named and grouped', async () => {
    mock.refuseSim(deviceId(3), 'it belongs to another account');
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const { drain, registrar } = station(client);
    for (let n = 1; n <= 4; n++) await registrar.register(deviceId(n), undefined, identityOf(n));
    const report = await drain.drainNow({ deadlineMs: 30_000 });
    expect(report.failed).toEqual([
      expect.objectContaining({ deviceId: deviceId(3), action: 'sim', code: 'CLOUD_SIM_REJECTED' }),
    ]);
    const state = registrationState(db, PRODUCT, deviceId(3));
    expect(state).toMatchObject({ state: 'sim-failed', code: 'CLOUD_SIM_REJECTED' });
    expect(state.state === 'sim-failed' && state.message).toMatch(/another account/);
    expect(mock.devices(P).find((d) => d.id === deviceId(3))).toMatchObject({
      name: `widget-${identityOf(3).serialNumber}`,
      groups: ['line-1', `${DAY}_0004`],
    });
    expect(mock.sims(P)).toHaveLength(3);
    for (const n of [1, 2, 4]) expect(registrationState(db, PRODUCT, deviceId(n)).state).toBe('registered');
  });

  it('the register step reports sim-failed with the cloud’s reason', async () => {
    mock.refuseSim(deviceId(5), 'not a Particle SIM');
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const drain = createDrain({ db, client, backoff: FAST, idlePollMs: 50 });
    drain.start();
    try {
      const registrar = createRegistrar({
        db,
        drain,
        productId: PRODUCT,
        setup: setupFor(),
        waitMs: 20_000,
        now: () => AT,
      });
      const r = await registrar.register(deviceId(5), undefined, identityOf(5));
      expect(r).toMatchObject({ state: 'sim-failed', code: 'CLOUD_SIM_REJECTED' });
      expect(r.state === 'sim-failed' && r.message).toMatch(/not a Particle SIM/);
    } finally {
      await drain.stop();
    }
  });

  it('a firmware version the product does not have fails the update for good, and only it', async () => {
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const registrar = createRegistrar({
      db,
      productId: PRODUCT,
      setup: { ...setupFor(), desiredFirmwareVersion: 99 },
      now: () => AT,
    });
    await registrar.register(deviceId(1), undefined, identityOf(1));
    const report = await createDrain({ db, client, backoff: FAST }).drainNow({ deadlineMs: 30_000 });
    expect(report.failed).toEqual([
      expect.objectContaining({ action: 'update', code: 'CLOUD_FIRMWARE_VERSION_UNKNOWN' }),
    ]);
    expect(registrationState(db, PRODUCT, deviceId(1))).toMatchObject({
      state: 'failed',
      code: 'CLOUD_FIRMWARE_VERSION_UNKNOWN',
    });
    // The import, the SIM and the groups went through; nothing was blocked.
    expect(report.remaining).toEqual({ pending: 0, done: 3, failed: 1, blocked: 0 });
  });

  it('a SIM re-armed after its import goes on its own as a SIM import, batched', async () => {
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN });
    const plain = createRegistrar({
      db,
      productId: PRODUCT,
      setup: { ...setupFor(), importSims: false },
      now: () => AT,
    });
    for (let n = 1; n <= 3; n++) await plain.register(deviceId(n), undefined, identityOf(n));
    const drain = createDrain({ db, client, backoff: FAST });
    await drain.drainNow({ deadlineMs: 30_000 });
    expect(mock.sims(P)).toHaveLength(0);
    mock.clearRequests();
    const withSims = createRegistrar({ db, productId: PRODUCT, setup: setupFor(), now: () => AT });
    for (let n = 1; n <= 3; n++) await withSims.register(deviceId(n), undefined, identityOf(n));
    await drain.drainNow({ deadlineMs: 30_000 });
    expect(mock.requests().map(key)).toEqual([`POST /v1/products/${P}/sims`]);
    expect(mock.sims(P)).toHaveLength(3);
  });
});

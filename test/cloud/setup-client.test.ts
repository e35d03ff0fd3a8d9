import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CloudClient, createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { deviceId, PRODUCT, TOKEN } from './helpers';

// Each cloud-setup endpoint and each of its refusals, through the client against the mock cloud.

const ICCID = (n: number) => `89883030000000${String(n).padStart(6, '0')}`;
const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('cloud setup requests against the mock cloud', () => {
  let mock: MockCloud;
  let client: CloudClient;
  const P = String(PRODUCT);
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT, releasedFirmware: 3 }],
      tokens: [{ token: TOKEN }, { token: 'list-only', scopes: ['groups:list', 'products:get'] }],
      deviceSims: { [deviceId(1)]: ICCID(1), [deviceId(2)]: ICCID(2), [deviceId(3)]: ICCID(3) },
      refusedSims: { [ICCID(3)]: 'it belongs to another account' },
    });
    client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, rateLimiter: null });
  });
  afterAll(() => mock.close());
  beforeEach(() => mock.clearRequests());

  describe('import with import_sims', () => {
    it('imports the devices and their SIMs in one request', async () => {
      const r = await client.importDevices(P, [deviceId(1), deviceId(2)], { importSims: true });
      expect(r.ok && r.value.updatedDeviceIds).toEqual([deviceId(1), deviceId(2)]);
      expect(mock.requests()[0]?.body).toEqual({ ids: [deviceId(1), deviceId(2)], import_sims: true });
      expect(mock.sims(P).map((s) => s.iccid)).toEqual([ICCID(1), ICCID(2)]);
    });

    it('a refused SIM is CLOUD_SIM_REJECTED with the cloud’s reason, and nothing is imported', async () => {
      const r = await client.importDevices(P, [deviceId(3), deviceId(4)], { importSims: true });
      expect(code(r)).toBe('CLOUD_SIM_REJECTED');
      expect(r.ok ? '' : r.error.message).toMatch(/another account/);
      expect(r.ok ? '' : r.error.kind).toBe('permanent');
      expect(mock.devices(P).some((d) => d.id === deviceId(4))).toBe(false);
      // Without the SIM the same device goes in.
      expect(code(await client.importDevices(P, [deviceId(3)]))).toBe('ok');
    });
  });

  describe('SIM import (POST /sims)', () => {
    it('imports ICCIDs; refuses a foreign or malformed one', async () => {
      expect(code(await client.importSims(P, [ICCID(9)]))).toBe('ok');
      expect(mock.sims(P).some((s) => s.iccid === ICCID(9))).toBe(true);
      const foreign = await client.importSims(P, [ICCID(3)]);
      expect(code(foreign)).toBe('CLOUD_SIM_REJECTED');
      expect(code(await client.importSims(P, ['12']))).toBe('CLOUD_SIM_REJECTED');
    });
  });

  describe('device update', () => {
    it('sets name, notes, development and the firmware lock in one PUT', async () => {
      const r = await client.updateDevice(P, deviceId(1), {
        name: 'S013LS612ABCDEF',
        notes: 'lot L-1, station st-2',
        development: false,
        desiredFirmwareVersion: 3,
      });
      expect(code(r)).toBe('ok');
      expect(mock.devices(P).find((d) => d.id === deviceId(1))).toMatchObject({
        name: 'S013LS612ABCDEF',
        notes: 'lot L-1, station st-2',
        desiredFirmwareVersion: 3,
      });
      expect(mock.requests()[0]?.body).toEqual({
        name: 'S013LS612ABCDEF',
        notes: 'lot L-1, station st-2',
        development: false,
        desired_firmware_version: 3,
      });
    });

    it('names each refusal: unknown firmware version, a bad name, a device not in the product', async () => {
      expect(code(await client.updateDevice(P, deviceId(1), { desiredFirmwareVersion: 99 }))).toBe(
        'CLOUD_FIRMWARE_VERSION_UNKNOWN',
      );
      const badName = await client.updateDevice(P, deviceId(1), { name: 'two words' });
      expect(code(badName)).toBe('CLOUD_BAD_REQUEST');
      expect(badName.ok ? '' : badName.error.kind).toBe('permanent');
      const stranger = await client.updateDevice(P, deviceId(77), { name: 'x' });
      expect(code(stranger)).toBe('CLOUD_DEVICE_NOT_IN_PRODUCT');
      expect(stranger.ok ? '' : stranger.error.kind).toBe('permanent');
    });
  });

  describe('groups', () => {
    it('creates, lists (partial name), reads the count, renames keeping members, and batch-adds', async () => {
      expect(code(await client.createGroup(P, { name: '20261204_0002', description: 'shipment' }))).toBe(
        'ok',
      );
      expect(code(await client.createGroup(P, { name: 'line-1' }))).toBe('ok');
      expect(
        code(await client.addDevicesToGroups(P, [deviceId(1), deviceId(2)], ['20261204_0002', 'line-1'])),
      ).toBe('ok');
      expect(mock.requests().at(-1)?.body).toEqual({
        action: 'groups',
        devices: [deviceId(1), deviceId(2)],
        metadata: { add: ['20261204_0002', 'line-1'] },
      });
      const listed = await client.listGroups(P, { name: '20261204' });
      expect(listed.ok && listed.value.map((g) => [g.name, g.device_count])).toEqual([['20261204_0002', 2]]);
      expect(code(await client.renameGroup(P, '20261204_0002', '20261204_0003'))).toBe('ok');
      const g = await client.getGroup(P, '20261204_0003');
      expect(g.ok && g.value.device_count).toBe(2);
      expect(mock.devices(P).find((d) => d.id === deviceId(1))?.groups).toEqual(['20261204_0003', 'line-1']);
    });

    it('names each refusal: taken, not found, invalid name, a device outside the product', async () => {
      await client.createGroup(P, { name: 'taken' });
      expect(code(await client.createGroup(P, { name: 'taken' }))).toBe('CLOUD_GROUP_EXISTS');
      expect(code(await client.createGroup(P, { name: 'Upper Case' }))).toBe('CLOUD_GROUP_NAME_INVALID');
      expect(code(await client.getGroup(P, 'nope'))).toBe('CLOUD_GROUP_NOT_FOUND');
      expect(code(await client.renameGroup(P, 'nope', 'other'))).toBe('CLOUD_GROUP_NOT_FOUND');
      await client.createGroup(P, { name: 'also-taken' });
      expect(code(await client.renameGroup(P, 'also-taken', 'taken'))).toBe('CLOUD_GROUP_EXISTS');
      expect(code(await client.addDevicesToGroups(P, [deviceId(1)], ['nope']))).toBe('CLOUD_GROUP_NOT_FOUND');
      expect(code(await client.addDevicesToGroups(P, [deviceId(88)], ['taken']))).toBe('CLOUD_BAD_REQUEST');
    });

    it('a missing scope is 403 (config), an unknown product 404 (config)', async () => {
      const listOnly = createCloudClient({
        baseUrl: mock.url,
        token: async () => 'list-only',
        rateLimiter: null,
      });
      expect(code(await listOnly.listGroups(P))).toBe('ok');
      const denied = await listOnly.createGroup(P, { name: 'x' });
      expect(denied.ok ? '' : `${denied.error.code}/${denied.error.kind}`).toBe('CLOUD_FORBIDDEN/config');
      const missing = await client.listGroups('999');
      expect(missing.ok ? '' : `${missing.error.code}/${missing.error.kind}`).toBe('CLOUD_NOT_FOUND/config');
    });
  });
});

describe('the mock enforces its rate limit', () => {
  it('answers 429 with Retry-After beyond the limit, and the client pauses for it', async () => {
    const mock = await startMockCloud({
      products: [{ id: PRODUCT }],
      tokens: [{ token: TOKEN }],
      rateLimit: { requests: 3, windowMs: 60_000 },
    });
    try {
      const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, rateLimiter: null });
      for (let i = 0; i < 3; i++) expect(code(await client.checkToken(String(PRODUCT)))).toBe('ok');
      const limited = await client.checkToken(String(PRODUCT));
      expect(limited.ok ? '' : limited.error.code).toBe('CLOUD_RATE_LIMITED');
      expect(limited.ok ? 0 : (limited.error.retryAfterMs ?? 0)).toBeGreaterThan(50_000);
      expect(mock.requests().at(-1)).toMatchObject({ status: 429, rateLimited: true });
      // A rejected request does not count: lifting the limit lets the next one through.
      mock.setRateLimit(undefined);
      expect(code(await client.checkToken(String(PRODUCT)))).toBe('ok');
      const res = await fetch(`${mock.url}/__admin/rate-limit`, {
        method: 'POST',
        body: JSON.stringify({ requests: 10, windowMs: 1000 }),
      });
      expect(await res.json()).toEqual({ requests: 10, windowMs: 1000 });
      expect(mock.rateLimit).toEqual({ requests: 10, windowMs: 1000 });
    } finally {
      await mock.close();
    }
  });
});

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../core/cloud/mock-protection';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { deviceId, TOKEN } from './helpers';

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('mock Particle Cloud', () => {
  let mock: MockCloud;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: 9, slug: 'nine' }],
      tokens: [{ token: TOKEN, scopes: ['devices:import'] }],
    });
  });
  afterAll(() => mock.close());

  it('refuses to bind to a non-loopback address', async () => {
    await expect(startMockCloud({ host: '0.0.0.0' })).rejects.toMatchObject({
      error: { code: 'MOCK_NOT_LOOPBACK' },
    });
  });

  it('imports by ID or slug and logs each request with its response class', async () => {
    mock.clearRequests();
    const r = await fetch(`${mock.url}/v1/products/nine/devices`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ids: [deviceId(1), deviceId(1).toUpperCase(), 'bad'] }),
    });
    expect(await r.json()).toMatchObject({
      updated: 1,
      updatedDeviceIds: [deviceId(1)],
      existingDeviceIds: [deviceId(1)],
      invalidDeviceIds: ['bad'],
    });
    expect(mock.requests()).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/products/nine/devices',
        status: 200,
        response: 'ok',
        applied: true,
      }),
    ]);
    expect(mock.devices(9).map((d) => d.id)).toEqual([deviceId(1)]);
  });

  it('enforces token scopes and does not echo the token', async () => {
    const r = await fetch(`${mock.url}/v1/products/9/firmware`, { headers: auth });
    expect(r.status).toBe(403);
    const bad = await fetch(`${mock.url}/v1/products/9/firmware`, {
      headers: { authorization: 'Bearer nope-123' },
    });
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toContain('nope-123');
  });

  it('switches faults at runtime through the admin endpoint, reproducibly by seed', async () => {
    const run = async () => {
      const set = await fetch(`${mock.url}/__admin/faults`, {
        method: 'POST',
        body: JSON.stringify({ spec: '503:0.5,seed=4' }),
      });
      expect(set.status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++)
        statuses.push(
          (
            await fetch(`${mock.url}/v1/products/9/devices`, {
              method: 'POST',
              headers: auth,
              body: '{"id":"x"}',
            })
          ).status,
        );
      return statuses;
    };
    const a = await run();
    expect(a).toContain(503);
    expect(a).toContain(200);
    expect(await run()).toEqual(a);
    const bad = await fetch(`${mock.url}/__admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ spec: 'meteor' }),
    });
    expect(bad.status).toBe(400);
    mock.setFaults('');
    const log = (await (await fetch(`${mock.url}/__admin/requests`)).json()) as { response: string }[];
    expect(log.filter((l) => l.response === 'server-error').length).toBe(
      a.filter((s) => s === 503).length * 2,
    );
  });

  it('applies the work but loses the answer on dropafter', async () => {
    mock.setFaults('dropafter');
    await expect(
      fetch(`${mock.url}/v1/products/9/devices`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ id: deviceId(2) }),
      }),
    ).rejects.toThrow();
    mock.setFaults('');
    expect(mock.devices(9).some((d) => d.id === deviceId(2))).toBe(true);
    expect(mock.requests().at(-1)).toMatchObject({
      fault: 'dropafter',
      applied: true,
      delivered: false,
      response: 'drop',
    });
  });

  it('gives exactly the first N requests a counted fault, then answers normally', async () => {
    mock.clearRequests();
    mock.setFaults('429*2,slow503*1,retryAfter=0.25,slowMs=5');
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${mock.url}/v1/products/9/devices`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ id: deviceId(3) }),
      });
      statuses.push(r.status);
      retryAfter.push(r.headers.get('retry-after'));
      await r.body?.cancel();
    }
    expect(statuses).toEqual([429, 429, 503, 200]);
    expect(retryAfter.slice(0, 3)).toEqual(['0.25', '0.25', '0.25']);
    expect(mock.requests().map((r) => r.fault ?? 'none')).toEqual(['429', '429', 'slow503', 'none']);
    // A new plan starts its own count.
    mock.setFaults('500*1');
    const again = await fetch(`${mock.url}/v1/products/9/devices`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: deviceId(3) }),
    });
    await again.body?.cancel();
    expect(again.status).toBe(500);
    mock.setFaults('');
  });
});

describe('mock Particle Cloud: PUT /v1/products/:p/devices/:id/unprotect', () => {
  let mock: MockCloud;
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ID = deviceId(40);
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [
        { id: 9, slug: 'nine', deviceProtection: true },
        { id: 10, slug: 'open-product' },
      ],
      tokens: [{ token: TOKEN }, { token: 'import-only', scopes: ['devices:import'] }],
      deviceKeys: { [ID]: keys.publicKey },
    });
    mock.addDevice(9, ID);
    mock.addDevice(10, ID);
  });
  afterAll(() => mock.close());

  const put = async (product: string, id: string, body: unknown, token = TOKEN) => {
    const r = await fetch(`${mock.url}/v1/products/${product}/devices/${id}/unprotect`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('prepare answers a base64 server nonce and is logged as applied; the product says device_protection active', async () => {
    mock.clearRequests();
    const r = await put('nine', ID, { action: 'prepare' });
    expect(r.status).toBe(200);
    expect(Buffer.from(String(r.body.server_nonce), 'base64')).toHaveLength(32);
    expect(mock.requests().at(-1)).toMatchObject({
      method: 'PUT',
      path: `/v1/products/nine/devices/${ID}/unprotect`,
      response: 'ok',
      applied: true,
    });
    const product = await fetch(`${mock.url}/v1/products/9`, { headers: auth });
    expect(await product.json()).toMatchObject({ product: { device_protection: 'active' } });
  });

  it('refuses a product without Device Protection (400), a device outside the product (404), a bad action (400), a missing scope (403)', async () => {
    expect(await put('open-product', ID, { action: 'prepare' })).toMatchObject({
      status: 400,
      body: { ok: false, error: 'Device Protection is not active for this product.' },
    });
    expect(await put('nine', deviceId(41), { action: 'prepare' })).toMatchObject({
      status: 404,
      body: { error: 'Device not found.' },
    });
    expect((await put('nine', ID, { action: 'reset' })).status).toBe(400);
    expect((await put('nine', ID, { action: 'prepare' }, 'import-only')).status).toBe(403);
    expect((await put('ninety', ID, { action: 'prepare' })).status).toBe(404);
  });

  it('refuses a device whose key it does not know, and a confirm with a forged signature', async () => {
    mock.addDevice(9, deviceId(42));
    expect(await put('nine', deviceId(42), { action: 'prepare' })).toMatchObject({
      status: 400,
      body: { error: 'Device public key was not found' },
    });
    const nonce = String((await put('nine', ID, { action: 'prepare' })).body.server_nonce);
    const forged = await put('nine', ID, {
      action: 'confirm',
      server_nonce: nonce,
      device_nonce: randomBytes(32).toString('base64'),
      device_signature: sign('sha256', Buffer.from('not the message'), keys.privateKey).toString('base64'),
      device_public_key_fingerprint: keyFingerprint(keys.publicKey).toString('base64'),
    });
    expect(forged).toMatchObject({ status: 400, body: { error: 'Invalid device signature.' } });
  });

  it('keeps its fault switches on this endpoint too', async () => {
    mock.setFaults('503*1');
    expect((await put('nine', ID, { action: 'prepare' })).status).toBe(503);
    expect((await put('nine', ID, { action: 'prepare' })).status).toBe(200);
    mock.setFaults('');
  });
});

describe('mock Particle Cloud serving simulated devices', () => {
  it('knows the key of any device its resolver knows, and counts it as a member of a protected product', async () => {
    const simulated = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const known = deviceId(50);
    const mock = await startMockCloud({
      products: [{ id: 9, slug: 'nine', deviceProtection: true }, { id: 10 }],
      tokens: [{ token: TOKEN }],
      simulatedDevices: { publicKeyFor: (id) => (id === known ? simulated.publicKey : undefined) },
    });
    try {
      const put = async (product: number, id: string) => {
        const r = await fetch(`${mock.url}/v1/products/${product}/devices/${id}/unprotect`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ action: 'prepare' }),
        });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      // Never imported, yet Service Mode starts: a protected device belongs to its product.
      expect((await put(9, known)).status).toBe(200);
      expect(mock.devices(9)).toEqual([]);
      // A device the resolver does not know is still outside the product.
      expect(await put(9, deviceId(51))).toMatchObject({ status: 404, body: { error: 'Device not found.' } });
      // And a product without Device Protection still refuses.
      expect((await put(10, known)).status).toBe(400);
    } finally {
      await mock.close();
    }
  });
});

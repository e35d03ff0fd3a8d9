import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

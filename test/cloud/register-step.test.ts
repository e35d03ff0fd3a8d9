import type { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { createDrain, type Drain } from '../../core/cloud/outbox-drain';
import { createRegistrar } from '../../core/cloud/register-step';
import { openDatabase } from '../../core/store/database';
import { registrationState } from '../../core/store/outbox';
import { deviceId, PRODUCT, TOKEN } from './helpers';

describe('createRegistrar (the station register step)', () => {
  let mock: MockCloud;
  let db: DatabaseSync;
  let drain: Drain;
  let token: string;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT }],
      tokens: [{ token: TOKEN }],
      nonmemberDevices: [deviceId(900)],
    });
  });
  afterAll(() => mock.close());
  beforeEach(() => {
    mock.setFaults('');
    db = openDatabase(':memory:');
    token = TOKEN;
    const client = createCloudClient({ baseUrl: mock.url, token: async () => token, timeoutMs: 300 });
    drain = createDrain({ db, client, backoff: { baseMs: 20, maxMs: 100 } });
    drain.start();
  });
  afterEach(() => drain.stop());

  it('reports registered once the cloud acknowledged the import and the settings', async () => {
    const reg = createRegistrar({ db, drain, productId: PRODUCT, development: true, groups: ['line-2'] });
    expect(await reg.register(deviceId(1).toUpperCase())).toMatchObject({ state: 'registered' });
    expect(mock.devices(PRODUCT).find((d) => d.id === deviceId(1))).toMatchObject({
      development: true,
      groups: ['line-2'],
    });
    // Registering again is a no-op that still answers registered.
    expect(await reg.register(deviceId(1))).toMatchObject({ state: 'registered' });
  });

  it('fails the step with the rejection code for a device the cloud refuses for good', async () => {
    const reg = createRegistrar({ db, drain, productId: PRODUCT });
    await expect(reg.register(deviceId(900))).rejects.toMatchObject({
      error: { code: 'CLOUD_DEVICE_NONMEMBER', remedy: expect.stringMatching(/owner/) },
    });
  });

  it('reports queued when the cloud is down, and the drain finishes the job later', async () => {
    mock.setFaults('503');
    const reg = createRegistrar({ db, drain, productId: PRODUCT, waitMs: 150 });
    expect(await reg.register(deviceId(2))).toMatchObject({ state: 'queued' });
    mock.setFaults('');
    for (let i = 0; i < 200 && registrationState(db, PRODUCT, deviceId(2)).state !== 'registered'; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(registrationState(db, PRODUCT, deviceId(2)).state).toBe('registered');
  });

  it('reports queued on a configuration error (nothing lost) and offline without a drain', async () => {
    token = 'bad';
    const reg = createRegistrar({ db, drain, productId: PRODUCT, waitMs: 5_000 });
    expect(await reg.register(deviceId(3))).toMatchObject({ state: 'queued' });
    expect(registrationState(db, PRODUCT, deviceId(3))).toMatchObject({
      state: 'blocked',
      code: 'CLOUD_UNAUTHORIZED',
    });
    const offline = createRegistrar({ db, productId: PRODUCT });
    expect(await offline.register(deviceId(4))).toMatchObject({ state: 'queued' });
    expect(registrationState(db, PRODUCT, deviceId(4)).state).toBe('queued');
  });
});

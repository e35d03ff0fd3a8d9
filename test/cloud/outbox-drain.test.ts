import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CloudClient, createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { createDrain, type DrainEvent } from '../../core/cloud/outbox-drain';
import { openDatabase } from '../../core/store/database';
import { enqueueRegistration, listOutbox, outboxCounts, registrationState } from '../../core/store/outbox';
import { deviceId, PRODUCT, TOKEN } from './helpers';

const FAST = { baseMs: 20, maxMs: 200 };

describe('outbox drain', () => {
  let mock: MockCloud;
  let db: DatabaseSync;
  let token: string | undefined;
  let client: CloudClient;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT }],
      tokens: [{ token: TOKEN }],
      nonmemberDevices: [deviceId(900)],
      protectedDevices: [deviceId(901)],
    });
  });
  afterAll(() => mock.close());
  beforeEach(() => {
    mock.setFaults('');
    mock.clearRequests();
    db = openDatabase(':memory:');
    token = TOKEN;
    // Roomy: tests count requests and retries exactly, and on a loaded 2-core machine an answer
    // from the in-process mock can take hundreds of ms (a client timeout would add a retry).
    client = createCloudClient({ baseUrl: mock.url, token: async () => token, timeoutMs: 10_000 });
  });

  it('sends pending imports as one ids request, then the update and the groups, telling only after the commit', async () => {
    for (let n = 1; n <= 5; n++) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(6), development: true, groups: ['qa'] });
    const seenStates: string[] = [];
    const drain = createDrain({
      db,
      client,
      backoff: FAST,
      onEvent: (e) => {
        if (e.type === 'settled')
          for (const d of e.devices)
            seenStates.push(
              listOutbox(db).find((x) => x.deviceId === d.deviceId && x.action === d.action)?.state ??
                'missing',
            );
      },
    });
    const report = await drain.drainNow({ deadlineMs: 5_000 });
    const reqs = mock.requests();
    // The import, the development flag (one PUT), the group created once and assigned in a batch.
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v1/products/${PRODUCT}/devices`,
      `PUT /v1/products/${PRODUCT}/devices/${deviceId(6)}`,
      `POST /v1/products/${PRODUCT}/groups`,
      `PUT /v1/products/${PRODUCT}/devices`,
    ]);
    expect(reqs[0]?.body).toMatchObject({ ids: expect.any(Array) });
    expect((reqs[0]?.body as { ids: string[] } | undefined)?.ids).toHaveLength(6);
    expect(reqs[1]?.body).toEqual({ development: true });
    expect(reqs[3]?.body).toEqual({ action: 'groups', devices: [deviceId(6)], metadata: { add: ['qa'] } });
    expect(report).toMatchObject({ requests: 4, imported: 6, existing: 0, settingsApplied: 2, retries: 0 });
    expect(report.remaining).toEqual({ pending: 0, done: 8, failed: 0, blocked: 0 });
    expect(mock.devices(PRODUCT).find((d) => d.id === deviceId(6))).toMatchObject({
      development: true,
      groups: ['qa'],
    });
    // Every entry was already committed as done when its event arrived.
    expect(seenStates).toEqual(Array(8).fill('done'));
  });

  it('fails invalid, non-member and protected devices permanently, each under its own code', async () => {
    for (const id of ['zz-not-hex', deviceId(900), deviceId(901), deviceId(10)])
      enqueueRegistration(db, { productId: PRODUCT, deviceId: id });
    const report = await createDrain({ db, client, backoff: FAST }).drainNow({ deadlineMs: 5_000 });
    expect(report.failed.map((f) => [f.deviceId, f.code])).toEqual([
      ['zz-not-hex', 'CLOUD_DEVICE_INVALID'],
      [deviceId(900), 'CLOUD_DEVICE_NONMEMBER'],
      [deviceId(901), 'CLOUD_DEVICE_PROTECTED'],
    ]);
    expect(registrationState(db, PRODUCT, deviceId(901))).toMatchObject({
      state: 'failed',
      code: 'CLOUD_DEVICE_PROTECTED',
    });
    expect(registrationState(db, PRODUCT, deviceId(10)).state).toBe('registered');
    // Permanent failures are not retried.
    expect(mock.requests()).toHaveLength(1);
  });

  it('counts a device already in the product as registered', async () => {
    await client.importDevices(String(PRODUCT), [deviceId(20)]);
    enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(20) });
    const report = await createDrain({ db, client, backoff: FAST }).drainNow();
    expect(report).toMatchObject({ imported: 0, existing: 1 });
    expect(registrationState(db, PRODUCT, deviceId(20))).toMatchObject({
      state: 'registered',
      outcome: 'existing',
    });
  });

  it('stops the product on a configuration error, and resumes after the engineer fixes it', async () => {
    for (let n = 30; n < 33; n++) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    token = 'expired-token';
    const events: DrainEvent[] = [];
    const drain = createDrain({ db, client, backoff: FAST, batchSize: 1, onEvent: (e) => events.push(e) });
    const report = await drain.drainNow({ deadlineMs: 2_000 });
    // One request found the problem; the other two were not sent.
    expect(mock.requests()).toHaveLength(1);
    expect(report.configErrors).toEqual([
      expect.objectContaining({ productId: String(PRODUCT), code: 'CLOUD_UNAUTHORIZED', blocked: 3 }),
    ]);
    expect(report.configErrors[0]?.remedy).toMatch(/token/);
    expect(events.map((e) => e.type)).toEqual(['config-error']);
    expect(outboxCounts(db)).toMatchObject({ blocked: 3, pending: 0 });
    token = TOKEN;
    expect(drain.unblock()).toBe(3);
    const after = await drain.drainNow({ deadlineMs: 5_000 });
    expect(after.imported).toBe(3);
    expect(outboxCounts(db)).toMatchObject({ done: 3, blocked: 0 });
  });

  it('honours Retry-After on 429 and does not hammer the product meanwhile', async () => {
    for (let n = 40; n < 44; n++) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    mock.setFaults('429,retryAfter=30');
    const before = Date.now();
    const report = await createDrain({ db, client, backoff: FAST, batchSize: 1 }).drainNow({
      deadlineMs: 1_000,
    });
    expect(mock.requests()).toHaveLength(1);
    expect(report.remaining.pending).toBe(4);
    const retried = listOutbox(db).find((e) => e.attempts === 1);
    expect(retried?.lastErrorCode).toBe('CLOUD_RATE_LIMITED');
    expect(retried?.nextAttemptAt).toBeGreaterThanOrEqual(before + 30_000);
  });

  it('retries transient failures with backoff until acknowledged', async () => {
    for (let n = 50; n < 60; n++) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    mock.setFaults('500:0.3,timeout:0.1,dropafter:0.1,seed=3');
    // Held requests end only by the client's timeout: a short one keeps the retries quick.
    const impatient = createCloudClient({ baseUrl: mock.url, token: async () => token, timeoutMs: 300 });
    const report = await createDrain({ db, client: impatient, backoff: FAST, batchSize: 3 }).drainNow({
      deadlineMs: 20_000,
    });
    expect(report.remaining).toEqual({ pending: 0, done: 10, failed: 0, blocked: 0 });
    expect(report.retries).toBeGreaterThan(0);
    const ids = new Set(mock.devices(PRODUCT).map((d) => d.id));
    for (let n = 50; n < 60; n++) expect(ids.has(deviceId(n))).toBe(true);
  });

  it('splits a multi-device request the cloud refuses with 400 so only the odd one fails', async () => {
    const calls: unknown[] = [];
    const picky: CloudClient = {
      ...client,
      importDevices: async (p, ids, o) => {
        calls.push(ids);
        if (ids.length > 1)
          return {
            ok: false,
            error: { code: 'CLOUD_BAD_REQUEST', kind: 'permanent', message: 'bad', status: 400 },
          };
        if (ids[0] === deviceId(71))
          return {
            ok: false,
            error: { code: 'CLOUD_BAD_REQUEST', kind: 'permanent', message: 'bad', status: 400 },
          };
        return client.importDevices(p, ids, o);
      },
    };
    for (const n of [70, 71, 72]) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    const report = await createDrain({ db, client: picky, backoff: FAST }).drainNow();
    expect(calls).toHaveLength(4);
    expect(report.failed.map((f) => f.deviceId)).toEqual([deviceId(71)]);
    expect(report.imported).toBe(2);
  });

  it('keeps a device the response did not mention queued', async () => {
    const forgetful: CloudClient = {
      ...client,
      importDevices: async () => ({
        ok: true,
        value: {
          updatedDeviceIds: [],
          existingDeviceIds: [],
          invalidDeviceIds: [],
          nonmemberDeviceIds: [],
          protectedDeviceIds: [],
        },
      }),
    };
    enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(80) });
    await createDrain({ db, client: forgetful, backoff: { baseMs: 60_000, maxMs: 60_000 } }).drainNow({
      deadlineMs: 10,
    });
    expect(registrationState(db, PRODUCT, deviceId(80))).toMatchObject({
      state: 'queued',
      lastErrorCode: 'CLOUD_BAD_RESPONSE',
    });
  });

  it('runs in the background, wakes on enqueue and stops cleanly', async () => {
    const settled = new Set<string>();
    let notify: (() => void) | undefined;
    const drain = createDrain({
      db,
      client,
      backoff: FAST,
      idlePollMs: 60_000,
      onEvent: (e) => {
        if (e.type === 'settled') for (const d of e.devices) if (d.state === 'done') settled.add(d.deviceId);
        if (settled.size === 3) notify?.();
      },
    });
    drain.start();
    expect(drain.running).toBe(true);
    const allDone = new Promise<void>((r) => {
      notify = r;
    });
    // The drain is idle (nothing pending, a 60 s poll): only the enqueue can wake it.
    await new Promise((r) => setTimeout(r, 50));
    for (const n of [90, 91, 92]) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    await allDone;
    await drain.stop();
    expect(drain.running).toBe(false);
    expect(outboxCounts(db).done).toBe(3);
  });

  it('stopping mid-request leaves the entry pending, not lost', async () => {
    mock.setFaults('timeout');
    const slow = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 60_000 });
    enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(95) });
    const drain = createDrain({ db, client: slow, backoff: FAST });
    drain.start();
    while (mock.requests().length === 0) await new Promise((r) => setTimeout(r, 10));
    await drain.stop();
    expect(registrationState(db, PRODUCT, deviceId(95))).toMatchObject({ state: 'queued', attempts: 0 });
  });
});

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../core/store/database';
import {
  blockProductOutbox,
  dueOutboxEntries,
  enqueueRegistration,
  listOutbox,
  nextOutboxDueByProduct,
  onEnqueue,
  outboxCounts,
  pruneOutbox,
  registrationState,
  settleOutbox,
  unblockOutbox,
} from '../../core/store/outbox';
import { deviceId, tempDir } from '../cloud/helpers';

describe('outbox store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    tmp = tempDir();
    file = join(tmp.dir, 'station.sqlite');
  });
  afterEach(() => tmp.cleanup());

  it('is idempotent per (product, device, action) and normalizes the device ID', () => {
    const db = openDatabase(file);
    expect(
      enqueueRegistration(db, { productId: 1, deviceId: deviceId(1).toUpperCase() }, 1000).armed,
    ).toEqual(['import']);
    expect(enqueueRegistration(db, { productId: '1', deviceId: ` ${deviceId(1)} ` }, 2000).armed).toEqual([]);
    expect(listOutbox(db)).toHaveLength(1);
    expect(listOutbox(db)[0]).toMatchObject({
      productId: '1',
      deviceId: deviceId(1),
      state: 'pending',
      attempts: 0,
    });
    // The same device in another product is another registration.
    enqueueRegistration(db, { productId: 2, deviceId: deviceId(1) });
    expect(listOutbox(db)).toHaveLength(2);
  });

  it('adds an update entry for a development device and a groups entry for groups, due after the import is done', () => {
    const db = openDatabase(file);
    expect(
      enqueueRegistration(db, { productId: 1, deviceId: deviceId(2), development: false }, 10).armed,
    ).toEqual(['import']);
    const r = enqueueRegistration(
      db,
      { productId: 1, deviceId: deviceId(3), development: true, groups: ['b', 'a'] },
      10,
    );
    expect(r.armed).toEqual(['import', 'update', 'groups']);
    expect(listOutbox(db).find((e) => e.action === 'update')?.settings).toEqual({ development: true });
    expect(listOutbox(db).find((e) => e.action === 'groups')?.settings).toEqual({ groups: ['a', 'b'] });
    expect(dueOutboxEntries(db, 100).map((e) => e.action)).toEqual(['import', 'import']);
    const imp = listOutbox(db).find((e) => e.deviceId === deviceId(3) && e.action === 'import');
    settleOutbox(db, [{ id: imp?.id ?? 0, state: 'done', outcome: 'imported' }], 50);
    expect(dueOutboxEntries(db, 100).map((e) => [e.deviceId, e.action])).toEqual([
      [deviceId(2), 'import'],
      [deviceId(3), 'update'],
      [deviceId(3), 'groups'],
    ]);
    // Changed groups re-arm a done groups entry; identical ones do not.
    for (const e of listOutbox(db).filter((x) => x.action !== 'import'))
      settleOutbox(db, [{ id: e.id, state: 'done', outcome: 'applied' }]);
    expect(
      enqueueRegistration(db, { productId: 1, deviceId: deviceId(3), development: true, groups: ['a', 'b'] })
        .armed,
    ).toEqual([]);
    expect(
      enqueueRegistration(db, { productId: 1, deviceId: deviceId(3), development: true, groups: ['c'] })
        .armed,
    ).toEqual(['groups']);
  });

  it('settles outcomes, counts attempts and honours the schedule', () => {
    const db = openDatabase(file);
    for (const n of [1, 2, 3]) enqueueRegistration(db, { productId: 1, deviceId: deviceId(n) }, 0);
    const [a, b, c] = listOutbox(db);
    settleOutbox(db, [
      { id: a?.id ?? 0, state: 'done', outcome: 'existing' },
      { id: b?.id ?? 0, state: 'failed', code: 'CLOUD_DEVICE_INVALID', message: 'bad' },
      { id: c?.id ?? 0, state: 'pending', code: 'CLOUD_TIMEOUT', message: 'slow', nextAttemptAt: 5000 },
    ]);
    expect(outboxCounts(db)).toEqual({ pending: 1, done: 1, failed: 1, blocked: 0 });
    expect(dueOutboxEntries(db, 4999)).toHaveLength(0);
    expect(dueOutboxEntries(db, 4999, { ignoreSchedule: true })).toHaveLength(1);
    expect(dueOutboxEntries(db, 5000)[0]).toMatchObject({ attempts: 1, lastErrorCode: 'CLOUD_TIMEOUT' });
    expect(nextOutboxDueByProduct(db)).toEqual(new Map([['1', 5000]]));
    expect(registrationState(db, 1, deviceId(1))).toMatchObject({ state: 'registered', outcome: 'existing' });
    expect(registrationState(db, 1, deviceId(2))).toEqual({
      state: 'failed',
      code: 'CLOUD_DEVICE_INVALID',
      message: 'bad',
    });
    expect(registrationState(db, 1, deviceId(3))).toMatchObject({ state: 'queued', attempts: 1 });
    expect(registrationState(db, 1, deviceId(4))).toEqual({ state: 'none' });
    // A settle never resurrects a finished entry.
    settleOutbox(db, [{ id: a?.id ?? 0, state: 'failed', code: 'X', message: 'x' }]);
    expect(registrationState(db, 1, deviceId(1)).state).toBe('registered');
    // Re-enqueueing a failed device re-arms it.
    expect(enqueueRegistration(db, { productId: 1, deviceId: deviceId(2) }).armed).toEqual(['import']);
    expect(registrationState(db, 1, deviceId(2))).toMatchObject({ state: 'queued', attempts: 0 });
  });

  it('blocks a product on a configuration error and unblocks it on request', () => {
    const db = openDatabase(file);
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1) });
    enqueueRegistration(db, { productId: 2, deviceId: deviceId(1) });
    expect(blockProductOutbox(db, '1', 'CLOUD_UNAUTHORIZED', 'token')).toBe(1);
    expect(registrationState(db, 1, deviceId(1))).toMatchObject({
      state: 'blocked',
      code: 'CLOUD_UNAUTHORIZED',
    });
    expect(registrationState(db, 2, deviceId(1)).state).toBe('queued');
    expect(dueOutboxEntries(db, Date.now()).map((e) => e.productId)).toEqual(['2']);
    expect(unblockOutbox(db, '1')).toBe(1);
    expect(registrationState(db, 1, deviceId(1)).state).toBe('queued');
  });

  it('wakes listeners on enqueue', () => {
    const db = openDatabase(file);
    let woken = 0;
    const off = onEnqueue(db, () => woken++);
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1) });
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1) });
    expect(woken).toBe(1);
    off();
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(2) });
    expect(woken).toBe(1);
  });

  it('survives reopening the database and prunes only old done entries', () => {
    let db = openDatabase(file);
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1) });
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(2) });
    const first = listOutbox(db)[0];
    settleOutbox(db, [{ id: first?.id ?? 0, state: 'done', outcome: 'imported' }], Date.parse('2020-01-01'));
    db.close();
    db = openDatabase(file);
    expect(outboxCounts(db)).toEqual({ pending: 1, done: 1, failed: 0, blocked: 0 });
    expect(pruneOutbox(db, Date.parse('2021-01-01'))).toBe(1);
    expect(outboxCounts(db)).toEqual({ pending: 1, done: 0, failed: 0, blocked: 0 });
  });
});

describe('outbox settle guards', () => {
  it('keeps groups pending when they changed while the old ones were in flight', () => {
    const db = openDatabase(':memory:');
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1), groups: ['a'] }, 0);
    const imp = listOutbox(db).find((e) => e.action === 'import');
    settleOutbox(db, [{ id: imp?.id ?? 0, state: 'done', outcome: 'imported' }]);
    const inFlight = listOutbox(db).find((e) => e.action === 'groups');
    enqueueRegistration(db, { productId: 1, deviceId: deviceId(1), groups: ['b'] }, 0);
    settleOutbox(db, [
      { id: inFlight?.id ?? 0, state: 'done', outcome: 'applied', sentPayload: inFlight?.settings ?? {} },
    ]);
    expect(listOutbox(db).find((e) => e.action === 'groups')).toMatchObject({
      state: 'pending',
      settings: { groups: ['b'] },
    });
    const again = listOutbox(db).find((e) => e.action === 'groups');
    settleOutbox(db, [
      { id: again?.id ?? 0, state: 'done', outcome: 'applied', sentPayload: again?.settings ?? {} },
    ]);
    expect(registrationState(db, 1, deviceId(1)).state).toBe('registered');
  });
});

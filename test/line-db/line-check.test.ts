import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { lineDbTargetFromEnv } from '../../core/line-db/config';
import { createLinePool } from '../../core/line-db/connection';
import type { LineStation } from '../../core/line-db/forwarder';
import { createLineCheck } from '../../core/line-db/line-check';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../core/store/outbox';
import type { StationLog } from '../../core/store/station-log';
import { newBatch, openLog, tempDir } from '../store/helpers';
import { deviceId, query, testForwarder } from './fixtures';
import { freshDatabase, pgSkip, withPgCluster } from './pg-cluster';

/*
 * Line-wide unit history and the claim on a device ID, against a real PostgreSQL: what station B
 * learns at identify about what station A did, and two stations reading one ID at the same moment.
 */

const cluster = withPgCluster();
const A: LineStation = { id: '0000000a-0000-4000-8000-000000000000', name: 'A-1' };
const B: LineStation = { id: '0000000b-0000-4000-8000-000000000000', name: 'B-3' };
const pools: { end(): Promise<void> }[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

const checker = (url: string, station: LineStation, over: { timeoutMs?: number; leaseMs?: number } = {}) => {
  const pool = createLinePool({
    url,
    applicationName: `test ${station.name}`,
    max: 2,
    connectTimeoutMs: 2000,
  });
  pools.push(pool);
  return createLineCheck({ pool, url, station, timeoutMs: over.timeoutMs ?? 5000, leaseMs: over.leaseMs });
};
const ctx = (attemptId: number, lot = 'LOT-1') => ({
  attemptId,
  lot,
  productId: '12345',
  signal: new AbortController().signal,
});

/** Station A's log: a PASS (registered) of `passed`, two FAILs of `failed`, forwarded. */
const stationA = async (url: string, passed: string, failed: string): Promise<StationLog> => {
  const { log } = openLog(tempDir('ls-line-a-'));
  const b = log.createBatch(newBatch({ lot: 'LOT-1' }));
  const p = log.startAttempt({ batchId: b.id, slot: 1, portPath: '1-1' });
  log.setIdentity(p.id, { deviceId: passed, platform: 'boron' });
  enqueueRegistration(log.db, { productId: b.product, deviceId: passed });
  settleOutbox(log.db, [{ id: listOutbox(log.db)[0]?.id ?? 0, state: 'done', outcome: 'imported' }]);
  log.finishAttempt(p.id, { result: 'pass', step: 'register', registrationState: 'registered' });
  for (const code of ['STEP_TIMEOUT', 'DFU_VERIFY_MISMATCH']) {
    const f = log.startAttempt({ batchId: b.id, slot: 2, portPath: '1-2' });
    log.setIdentity(f.id, { deviceId: failed, platform: 'boron' });
    log.finishAttempt(f.id, { result: 'fail', step: 'flash', error: { code, message: `${code} happened` } });
  }
  const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: url });
  if (!t.ok || !t.value) throw new Error('bad URL');
  const st = await testForwarder({ db: log.db, target: t.value, station: A }).forwardNow();
  expect(st.behind).toBe(0);
  return log;
};

describe.skipIf(pgSkip)('the line check at identify', () => {
  it('knows what the other stations did: passed in this lot, failed with reasons, registered', async () => {
    const url = await freshDatabase(cluster());
    const passed = deviceId();
    const failed = deviceId();
    const log = await stationA(url, passed, failed);
    const b = checker(url, B);

    const p = await b.check(passed, ctx(1));
    expect(p.check).toMatch(/^passed at A-1 at \d{4}-.*; registered already by A-1$/);
    expect(p.passedElsewhere?.title).toMatch(/^Already provisioned at station A-1 at \d\d:\d\d$/);
    expect(p.registeredElsewhere).toBe(true);
    expect(p.conflict).toBeUndefined();

    const f = await b.check(failed, ctx(2));
    expect(f.check).toMatch(
      /^ok; failed 2× elsewhere: DFU_VERIFY_MISMATCH at A-1 \d\d:\d\d, STEP_TIMEOUT at A-1 \d\d:\d\d$/,
    );
    expect(f.passedElsewhere).toBeUndefined();
    expect(f.registeredElsewhere).toBeUndefined();

    // The attempts end: their claims are given back.
    p.release?.();
    f.release?.();
    await b.settle(2000);

    // In another lot, a PASS elsewhere is not "already provisioned" (the rule is the lot's, as locally).
    expect((await b.check(passed, ctx(3, 'LOT-2'))).passedElsewhere).toBeUndefined();
    // A station's own rows are not "elsewhere": it knows them locally.
    expect((await checker(url, A).check(failed, ctx(4))).check).toBe('ok');
    // A device never seen.
    expect((await b.check(deviceId(), ctx(5))).check).toBe('ok');
    log.close();
  });

  it('lets exactly one of two stations claim a device ID read at the same moment, naming the holder', async () => {
    const url = await freshDatabase(cluster());
    await stationA(url, deviceId(), deviceId()); // the schema and both station names
    const { log } = openLog(tempDir('ls-line-b-'));
    const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: url });
    if (!t.ok || !t.value) throw new Error('bad URL');
    await testForwarder({ db: log.db, target: t.value, station: B }).forwardNow();
    const a = checker(url, A);
    const b = checker(url, B);
    for (let round = 0; round < 20; round++) {
      const id = deviceId();
      const [ra, rb] = await Promise.all([a.check(id, ctx(100 + round)), b.check(id, ctx(200 + round))]);
      const winners = [ra, rb].filter((r) => !r.conflict);
      expect(winners).toHaveLength(1);
      const loser = ra.conflict ? ra : rb;
      const holder = ra.conflict ? B : A;
      expect(loser.conflict?.code).toBe('DUPLICATE_DEVICE_ID');
      expect(loser.conflict?.message).toContain(`at station ${holder.name}`);
      expect(loser.conflict?.message).toContain(holder.id);
      expect(loser.check).toBe(`duplicate: held by ${holder.name}`);
      // Released at the end of the winner's attempt: the ID is free again.
      winners[0]?.release?.();
      await a.settle(2000);
      await b.settle(2000);
      const again = await (holder === A ? b : a).check(id, ctx(300 + round));
      expect(again.conflict).toBeUndefined();
      again.release?.();
    }
    await a.settle(2000);
    await b.settle(2000);
    expect((await query(url, 'SELECT count(*)::int AS n FROM linestation.device_claims')).rows[0]?.n).toBe(0);
    log.close();
  });

  it('frees the ID of a station that died holding it when the lease ends', async () => {
    const url = await freshDatabase(cluster());
    await stationA(url, deviceId(), deviceId());
    const id = deviceId();
    const held = await checker(url, A, { leaseMs: 300 }).check(id, ctx(1));
    expect(held.conflict).toBeUndefined(); // ... and never released: the station "died".
    expect((await checker(url, B).check(id, ctx(2))).conflict?.code).toBe('DUPLICATE_DEVICE_ID');
    await new Promise((r) => setTimeout(r, 400));
    expect((await checker(url, B).check(id, ctx(3))).conflict).toBeUndefined();
  });
});

describe('the line check when the line database cannot answer', () => {
  let silent: Server | undefined;
  afterAll(() => silent?.close());

  it('goes on without it and records why: nobody listening, nobody answering, known to be down', async () => {
    const refused = checker('postgres://u:secret@127.0.0.1:1/line', B, { timeoutMs: 3000 });
    expect((await refused.check(deviceId(), ctx(1))).check).toBe(
      'skipped: unreachable (LINE_DB_UNREACHABLE)',
    );

    silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent?.once('listening', r));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const mute = checker(`postgres://u:secret@127.0.0.1:${port}/line`, B, { timeoutMs: 200 });
    expect((await mute.check(deviceId(), ctx(2))).check).toBe('skipped: no answer within 200 ms');

    const pool = createLinePool({ url: 'postgres://u:p@127.0.0.1:1/x', applicationName: 't' });
    pools.push(pool);
    const down = createLineCheck({
      pool,
      url: 'postgres://u:p@127.0.0.1:1/x',
      station: B,
      knownDown: () => ({ code: 'LINE_DB_AUTH_FAILED', message: 'refused' }),
    });
    expect((await down.check(deviceId(), ctx(3))).check).toBe('skipped: unreachable (LINE_DB_AUTH_FAILED)');
  });
});

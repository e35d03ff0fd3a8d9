import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../core/cli/main';
import { openDatabase } from '../../../core/store/database';
import { enqueueRegistration, listOutbox, settleOutbox } from '../../../core/store/outbox';
import { captureIo } from '../../cloud/cli-io';
import { deviceId, tempDir } from '../../cloud/helpers';

describe('linestation outbox', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  const seed = () => {
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    enqueueRegistration(db, { productId: 7, deviceId: deviceId(1) });
    enqueueRegistration(db, { productId: 7, deviceId: deviceId(2), development: true });
    const first = listOutbox(db)[0];
    settleOutbox(db, [
      { id: first?.id ?? 0, state: 'failed', code: 'CLOUD_DEVICE_NONMEMBER', message: 'claimed elsewhere' },
    ]);
    db.close();
  };

  it('lists entries with state, attempts and last error', async () => {
    seed();
    const c = captureIo();
    expect(await runCli(['outbox', '--data-dir', tmp.dir], c.io)).toBe(0);
    expect(
      c.out.some(
        (l) => l.includes(deviceId(1)) && l.includes('failed') && l.includes('CLOUD_DEVICE_NONMEMBER'),
      ),
    ).toBe(true);
    expect(c.out.some((l) => l.includes(deviceId(2)) && l.includes('update {"development":true}'))).toBe(
      true,
    );
    expect(c.out.at(-1)).toMatch(/^2 pending, 0 done, 1 failed, 0 blocked/);
  });

  it('prints JSON and filters by state, reading LINESTATION_DATA when no --data-dir', async () => {
    seed();
    const c = captureIo({ LINESTATION_DATA: tmp.dir });
    expect(await runCli(['outbox', '--json', '--state', 'failed'], c.io)).toBe(0);
    const parsed = JSON.parse(c.out.join('\n')) as {
      counts: Record<string, number>;
      entries: { deviceId: string; attempts: number }[];
    };
    expect(parsed.counts).toEqual({ pending: 2, done: 0, failed: 1, blocked: 0 });
    expect(parsed.entries).toEqual([expect.objectContaining({ deviceId: deviceId(1), attempts: 1 })]);
  });

  it('says the outbox is empty without creating a database', async () => {
    const c = captureIo();
    const dir = join(tmp.dir, 'nothing-here');
    expect(await runCli(['outbox', '--data-dir', dir], c.io)).toBe(0);
    expect(c.out[0]).toMatch(/empty/);
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../core/cli/main';
import { type MockCloud, startMockCloud } from '../../../core/cloud/mock-server';
import { openDatabase } from '../../../core/store/database';
import { enqueueRegistration, outboxCounts } from '../../../core/store/outbox';
import { captureIo } from '../../cloud/cli-io';
import { deviceId, PRODUCT, TOKEN, tempDir } from '../../cloud/helpers';

describe('linestation sync', () => {
  let mock: MockCloud;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT }],
      tokens: [{ token: TOKEN }],
      nonmemberDevices: [deviceId(99)],
    });
  });
  afterAll(() => mock.close());
  beforeEach(() => {
    tmp = tempDir();
    mock.setFaults('');
  });
  afterEach(() => tmp.cleanup());

  const enqueue = (...ns: number[]) => {
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    for (const n of ns) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    db.close();
  };
  const counts = () => {
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    const c = outboxCounts(db);
    db.close();
    return c;
  };

  it('drains with the token from the profile-named variable and reports what it did', async () => {
    enqueue(1, 2, 3);
    const profile = join(tmp.dir, 'profile.json');
    writeFileSync(
      profile,
      JSON.stringify({
        schemaVersion: 1,
        product: { id: PRODUCT, name: 'Widget' },
        platform: 'boron',
        registration: { mode: 'cloud', apiBaseUrl: mock.url, tokenEnv: 'LINE_TOKEN' },
      }),
    );
    const c = captureIo({ LINE_TOKEN: TOKEN });
    expect(await runCli(['sync', '--data-dir', tmp.dir, '--profile', profile], c.io)).toBe(0);
    expect(c.out[0]).toContain('$LINE_TOKEN');
    expect(c.out.at(-1)).toMatch(/^3 imported, 0 already in the product/);
    expect(counts()).toMatchObject({ done: 3, pending: 0 });
  });

  it('keeps to this station’s share of the line’s rate limit (--stations-sharing-ip), refusing a share of none', async () => {
    enqueue(41, 42);
    const c = captureIo({ PARTICLE_ACCESS_TOKEN: TOKEN });
    expect(
      await runCli(
        ['sync', '--data-dir', tmp.dir, '--api-url', mock.url, '--stations-sharing-ip', '4'],
        c.io,
      ),
    ).toBe(0);
    expect(counts()).toMatchObject({ done: 2, pending: 0 });
    const bad = captureIo({ PARTICLE_ACCESS_TOKEN: TOKEN });
    expect(
      await runCli(
        ['sync', '--data-dir', tmp.dir, '--api-url', mock.url, '--stations-sharing-ip', '0'],
        bad.io,
      ),
    ).toBe(1);
    expect(bad.errs.join('\n')).toMatch(/stations-sharing-ip.*at least 1/);
  });

  it('exits 3 and names the fix on a configuration error, leaving entries blocked', async () => {
    enqueue(4);
    const c = captureIo({ PARTICLE_ACCESS_TOKEN: 'ffffffffffffffffffffffffffffffffffffffff' });
    expect(await runCli(['sync', '--data-dir', tmp.dir, '--api-url', mock.url], c.io)).toBe(3);
    expect(c.errs.join('\n')).toMatch(/CLOUD_UNAUTHORIZED.*expired/);
    expect(counts()).toMatchObject({ blocked: 1 });
    // A later sync with the fixed token retries the blocked entry.
    const fixed = captureIo({ PARTICLE_ACCESS_TOKEN: TOKEN });
    expect(await runCli(['sync', '--json', '--data-dir', tmp.dir, '--api-url', mock.url], fixed.io)).toBe(0);
    expect(JSON.parse(fixed.out.join('\n'))).toMatchObject({ ok: true, imported: 1 });
  });

  it('exits 3 when the token variable is not set', async () => {
    enqueue(5);
    const c = captureIo({});
    expect(await runCli(['sync', '--data-dir', tmp.dir, '--api-url', mock.url], c.io)).toBe(3);
    expect(c.errs.join('\n')).toMatch(/CLOUD_NO_TOKEN/);
  });

  it('exits 4 with permanent failures, and 4 when entries are still pending at the deadline', async () => {
    enqueue(99);
    const c = captureIo({ PARTICLE_ACCESS_TOKEN: TOKEN });
    expect(await runCli(['sync', '--data-dir', tmp.dir, '--api-url', mock.url], c.io)).toBe(4);
    expect(c.errs.join('\n')).toMatch(/FAILED .*CLOUD_DEVICE_NONMEMBER/);
    enqueue(6);
    mock.setFaults('503');
    const d = captureIo({ PARTICLE_ACCESS_TOKEN: TOKEN });
    expect(
      await runCli(
        ['sync', '--json', '--data-dir', tmp.dir, '--api-url', mock.url, '--deadline', '0.2'],
        d.io,
      ),
    ).toBe(4);
    expect(JSON.parse(d.out.join('\n'))).toMatchObject({ ok: false, remaining: { pending: 1 } });
  });

  it('refuses a token pasted as --token-env without echoing it', async () => {
    const c = captureIo();
    expect(await runCli(['sync', '--data-dir', tmp.dir, '--token-env', TOKEN], c.io)).toBe(1);
    expect(c.errs.join('\n')).toMatch(/SYNC_BAD_TOKEN_ENV/);
    expect(c.all()).not.toContain(TOKEN);
  });
});

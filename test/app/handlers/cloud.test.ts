import { afterEach, describe, expect, it } from 'vitest';
import { type AppService, createAppService } from '../../../core/app/service';
import { memoryTokenStore } from '../../../core/app/token-store';
import { enqueueRegistration } from '../../../core/store/outbox';
import { type SimLine, startSimLine } from '../line-fixture';

let line: SimLine | undefined;
let app: AppService | undefined;
afterEach(async () => {
  await app?.dispose();
  await line?.close();
  app = undefined;
  line = undefined;
});

describe('cloud methods', () => {
  it('tests the token against the mock cloud: the stored token wins, a wrong one is explained', async () => {
    line = await startSimLine(1);
    const tokens = memoryTokenStore();
    app = createAppService({ ...line.options, env: {}, role: 'engineer', tokenStore: tokens });
    const none = await app.invoke('cloud.test', {});
    expect(none.ok && none.value.ok).toBe(false);
    await app.invoke('cloud.setToken', { token: 'not-the-right-token' });
    const wrong = await app.invoke('cloud.test', {});
    expect(wrong.ok && wrong.value.ok).toBe(false);
    expect(wrong.ok && wrong.value.message.length).toBeGreaterThan(10);
    const right = line.options.env?.LINESTATION_DEMO_TOKEN ?? '';
    await app.invoke('cloud.setToken', { token: right });
    const good = await app.invoke('cloud.test', {});
    expect(good.ok && good.value).toMatchObject({ ok: true });
  });

  it('lists the outbox and syncs it to the cloud on demand', async () => {
    line = await startSimLine(1);
    app = createAppService({ ...line.options, role: 'engineer' });
    const empty = await app.invoke('cloud.outbox', {});
    expect(empty.ok && empty.value.counts).toEqual({ pending: 0, done: 0, failed: 0, blocked: 0 });
    // Two registrations queued while the line was offline.
    const db = (await import('../../../core/store/station-log')).StationLog.open(
      line.options.dataDir ?? '',
    ).log;
    enqueueRegistration(db.db, { productId: 4242, deviceId: 'e00fce68aaaaaaaaaaaaaaaa' });
    enqueueRegistration(db.db, { productId: 4242, deviceId: 'e00fce68bbbbbbbbbbbbbbbb' });
    db.close();
    const queued = await app.invoke('cloud.outbox', {});
    expect(queued.ok && queued.value.counts.pending).toBe(2);
    const sync = await app.invoke('cloud.sync', { deadlineMs: 10_000 });
    expect(sync.ok && sync.value).toMatchObject({ imported: 2, remaining: { pending: 0 } });
    expect(
      line.cloud
        .devices(4242)
        .map((d) => d.id)
        .sort(),
    ).toEqual(['e00fce68aaaaaaaaaaaaaaaa', 'e00fce68bbbbbbbbbbbbbbbb']);
    const after = await app.invoke('cloud.outbox', {});
    expect(after.ok && after.value.entries.every((e) => e.state === 'done')).toBe(true);
  });

  it('refuses to talk to a cloud when the profile registers offline or is missing', async () => {
    line = await startSimLine(1);
    app = createAppService({ ...line.options, profilePath: undefined, role: 'engineer' });
    const r = await app.invoke('cloud.sync', {});
    expect(!r.ok && r.error.code).toBe('NO_PROFILE');
  });
});

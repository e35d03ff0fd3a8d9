import { describe, expect, it } from 'vitest';
import type { ReadinessItem } from '../../core/contract/views';
import { err, ok } from '../../core/errors/result';
import { type BatchStartRequest, evaluateStart, openBatch } from '../../core/station/batch';
import { profileSchema } from '../../core/station/profile-schema';
import type { ReadinessReport } from '../../core/station/readiness';
import { openLog } from '../store/helpers';

const HASH = 'cd'.repeat(32);

const profile = (over: Record<string, unknown> = {}) =>
  profileSchema.parse({
    schemaVersion: 1,
    organization: 'acme',
    product: { id: 4242, name: 'Widget' },
    platform: 'boron',
    provisioningMode: 'flash-on-line',
    customerAuth: 'simple',
    privateBeta: false,
    development: false,
    registration: { mode: 'cloud', tokenEnv: 'PARTICLE_TOKEN' },
    firmware: [{ path: 'app.bin', sha256: 'ee'.repeat(32) }],
    lock: { profileHash: HASH, lockedAt: '2026-01-01T00:00:00.000Z' },
    ...over,
  });

const itemsOk = (): ReadinessItem[] =>
  [
    'questions',
    'platform',
    'firmware-files',
    'firmware-product',
    'firmware-set',
    'registration',
    'locked',
  ].map((id) => ({
    id,
    title: id,
    ok: true,
    status: 'ok',
    message: 'ok',
    details: [],
  }));

const report = (items: ReadinessItem[]): ReadinessReport =>
  ({
    readiness: { ready: items.every((i) => i.ok), items, checkedAt: '2026-01-01T00:00:00.000Z' },
    integrity: {
      files: [
        {
          path: 'app.bin',
          absolutePath: '/x/app.bin',
          pinned: 'ee'.repeat(32),
          actual: 'ee'.repeat(32),
          state: 'match',
        },
      ],
    },
    files: [],
  }) as unknown as ReadinessReport;

const failing = (id: string, message = `${id} is not ok`): ReadinessItem[] =>
  itemsOk().map((i) => (i.id === id ? { ...i, ok: false, status: 'fail', message } : i));

const request = (over: Partial<BatchStartRequest> = {}): BatchStartRequest => ({
  loaded: { path: '/x/p.json', dir: '/x', profile: profile() },
  report: report(itemsOk()),
  lot: 'LOT-7',
  operator: 'ana',
  station: 'line-1',
  offline: false,
  acceptances: [],
  ...over,
});

const codeOf = async (req: BatchStartRequest) => {
  const r = await evaluateStart(req);
  return r.ok ? 'OK' : r.error.code;
};

describe('evaluateStart', () => {
  it('records lot, product, profile hash, mode, firmware hashes, operator and station', async () => {
    const r = await evaluateStart(request({ targetCount: 50 }));
    expect(r.ok && r.value).toMatchObject({
      lot: 'LOT-7',
      product: '4242',
      profileHash: HASH,
      mode: 'flash-on-line',
      firmware: [{ name: 'app.bin', sha256: 'ee'.repeat(32) }],
      operator: 'ana',
      station: 'line-1',
      targetCount: 50,
      offline: false,
    });
  });

  it('refuses an unlocked profile, a tampered lock and tampered firmware by name', async () => {
    expect(
      await codeOf(request({ loaded: { path: '', dir: '', profile: profile({ lock: undefined }) } })),
    ).toBe('PROFILE_NOT_LOCKED');
    expect(await codeOf(request({ report: report(failing('locked', 'TAMPERED: changed')) }))).toBe(
      'PROFILE_TAMPERED',
    );
    expect(
      await codeOf(request({ report: report(failing('firmware-files', 'TAMPERED: app.bin changed')) })),
    ).toBe('FIRMWARE_CHANGED');
  });

  it('refuses an open item unless it is acceptable and accepted', async () => {
    expect(await codeOf(request({ report: report(failing('firmware-set')) }))).toBe('NOT_READY');
    const acc = [{ item: 'firmware-set', by: 'eng', at: '2026-01-01T00:00:00Z' }];
    expect(await codeOf(request({ report: report(failing('firmware-set')), acceptances: acc }))).toBe('OK');
    // Wrong firmware can never be accepted.
    const wrong = [{ item: 'firmware-product', by: 'eng', at: '2026-01-01T00:00:00Z' }];
    expect(await codeOf(request({ report: report(failing('firmware-product')), acceptances: wrong }))).toBe(
      'NOT_READY',
    );
  });

  it('needs a valid token or an accepted offline mode', async () => {
    expect(await codeOf(request({ report: report(failing('registration')) }))).toBe('TOKEN_NOT_VALID');
    expect(await codeOf(request({ report: report(failing('registration')), offline: true }))).toBe(
      'TOKEN_NOT_VALID',
    );
    const acc = [{ item: 'offline', by: 'eng', at: '2026-01-01T00:00:00Z' }];
    expect(
      await codeOf(request({ report: report(failing('registration')), offline: true, acceptances: acc })),
    ).toBe('OK');
    const refused = async () => err('CLOUD_UNAUTHORIZED', 'token expired');
    expect(await codeOf(request({ tokenCheck: refused }))).toBe('TOKEN_NOT_VALID');
    expect(await codeOf(request({ tokenCheck: async () => ok(undefined) }))).toBe('OK');
  });

  it('tells an unreachable cloud apart from a refused token', async () => {
    const down = async () =>
      err('CLOUD_NETWORK', 'Could not reach the Particle Cloud: connect ECONNREFUSED.');
    expect(await codeOf(request({ tokenCheck: down }))).toBe('CLOUD_UNREACHABLE');
    const slow = async () => err('CLOUD_TIMEOUT', 'The Particle Cloud did not answer within 10 s.');
    expect(await codeOf(request({ tokenCheck: slow }))).toBe('CLOUD_UNREACHABLE');
    const forbidden = async () => err('CLOUD_FORBIDDEN', 'missing devices:import');
    expect(await codeOf(request({ tokenCheck: forbidden }))).toBe('TOKEN_NOT_VALID');
  });

  it('says how long it kept trying when the token check gave up on a transient cloud', async () => {
    const gaveUp = async () =>
      err('CLOUD_RATE_LIMITED', 'The Particle Cloud is rate limiting this station (429).', {
        details: { gaveUp: { tries: 5, waitedMs: 22_600, limitMs: 30_000 } },
      });
    const r = await evaluateStart(request({ tokenCheck: gaveUp }));
    expect(!r.ok && r.error.code).toBe('CLOUD_UNREACHABLE');
    expect(!r.ok && r.error.message).toBe(
      'The token could not be checked: The Particle Cloud is rate limiting this station (429). The station kept trying for 22.6 s (5 tries, limit 30 s).',
    );
    expect(!r.ok && r.error.remedy).toMatch(/--offline --accept offline/);
  });

  it('refuses an OTA start whose released-firmware check got no answer as CLOUD_UNREACHABLE', async () => {
    const unknownRelease = report(
      itemsOk().map((i) => (i.id === 'firmware-set' ? { ...i, ok: false, status: 'unknown' as const } : i)),
    );
    const down = {
      code: 'CLOUD_SERVER_ERROR',
      message: 'The Particle Cloud had a server error (503).',
      details: { gaveUp: { tries: 4, waitedMs: 12_000, limitMs: 30_000 } },
    };
    const ota = {
      loaded: { path: '/x/p.json', dir: '/x', profile: profile({ provisioningMode: 'ota-on-setup' }) },
    };
    const r = await evaluateStart(
      request({ ...ota, report: unknownRelease, releasedFirmwareUnanswered: down }),
    );
    expect(!r.ok && r.error.code).toBe('CLOUD_UNREACHABLE');
    expect(!r.ok && r.error.message).toMatch(
      /^The product's released firmware could not be checked: .*kept trying for 12 s/,
    );
    expect(!r.ok && r.error.remedy).toMatch(/--offline --accept offline --accept firmware-set/);
    // An engineer who vouches for the released firmware leaves it to the token check.
    const eng = [{ item: 'firmware-set', by: 'eng', at: '2026-01-01T00:00:00Z' }];
    expect(
      await codeOf(
        request({ ...ota, report: unknownRelease, releasedFirmwareUnanswered: down, acceptances: eng }),
      ),
    ).toBe('OK');
  });

  it('rejects a lot ID that cannot be a file name or a CSV cell', async () => {
    expect(await codeOf(request({ lot: '../x' }))).toBe('LOT_INVALID');
  });
});

describe('openBatch', () => {
  it('creates, then resumes the same lot, and refuses a closed or re-profiled one', async () => {
    const { log } = openLog();
    const first = await openBatch(log, request());
    expect(first.ok && first.value.resumed).toBe(false);
    if (!first.ok) return;
    log.setBatchState(first.value.batch.id, 'paused', 'ana');
    const again = await openBatch(log, request());
    expect(again.ok && again.value.resumed && again.value.batch.state).toBe('running');
    const other = await openBatch(
      log,
      request({
        loaded: {
          path: '',
          dir: '',
          profile: profile({ lock: { profileHash: 'ff'.repeat(32), lockedAt: '2026-01-01T00:00:00.000Z' } }),
        },
      }),
    );
    expect(!other.ok && other.error.code).toBe('BATCH_PROFILE_MISMATCH');
    log.setBatchState(first.value.batch.id, 'closed', 'ana');
    const closed = await openBatch(log, request());
    expect(!closed.ok && closed.error.code).toBe('BATCH_CLOSED');
  });
});

import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockCloud, type MockRequestLog, startMockCloud } from '../../core/cloud/mock-server';
import type { CloudWait } from '../../core/cloud/retry-transient';
import { SimBus } from '../../core/sim/index';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../../core/station/demo-setup';
import { openSession, type SessionOptions } from '../../core/station/session';
import { tempDir } from '../store/helpers';

/*
 * The batch start's cloud checks (core/station/session.ts) against the mock cloud on 127.0.0.1:
 * transient answers (429 with Retry-After, 500, a slow 503, a dropped connection) are waited out
 * within the start-up bound and reported; 401 fails at once; a cloud that never recovers fails
 * with CLOUD_UNREACHABLE naming the offline option. Counts come from the mock's request log.
 */

// The outbox's backoff scaled down: the tests count requests, they do not wait for seconds.
const FAST = { baseMs: 20, maxMs: 80 };

let cloud: MockCloud;
const rigs: Record<'flash' | 'ota', { profilePath: string; token: string }> = {
  flash: { profilePath: '', token: '' },
  ota: { profilePath: '', token: '' },
};
const buses: SimBus[] = [];

beforeAll(async () => {
  cloud = await startMockCloud({
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13, releasedFirmware: 3 }],
  });
  for (const mode of ['flash', 'ota'] as const) {
    const setup = await writeDemoProduct(join(tempDir('ls-session-'), 'product'), cloud.url, {
      slots: 2,
      bodySize: 4096,
      mode: mode === 'ota' ? 'ota-on-setup' : 'flash-on-line',
    });
    if (!setup.ok) throw new Error(setup.error.message);
    cloud.addToken(setup.value.token);
    rigs[mode] = { profilePath: setup.value.profilePath, token: setup.value.token };
  }
});
afterAll(async () => {
  for (const b of buses) b.dispose();
  await cloud?.close();
});
afterEach(() => {
  cloud.setFaults('');
});

const start = async (
  mode: 'flash' | 'ota',
  faults: string,
  over: Partial<SessionOptions> & { token?: string } = {},
) => {
  cloud.setFaults(faults);
  cloud.clearRequests();
  const bus = new SimBus();
  buses.push(bus);
  const waits: CloudWait[] = [];
  const { token, ...rest } = over;
  const opened = await openSession({
    profilePath: rigs[mode].profilePath,
    lot: `LOT-${buses.length}`,
    operator: 'ana',
    station: 'line-1',
    dataDir: tempDir('ls-session-data-'),
    env: { [DEMO_TOKEN_ENV]: token ?? rigs[mode].token },
    offline: false,
    acceptances: [],
    transport: bus,
    simulated: true,
    cloudWaitMs: 10_000,
    cloudBackoff: FAST,
    onCloudWait: (w) => waits.push(w),
    ...rest,
  });
  if (opened.ok) await opened.value.close();
  // The drain may have polled the product's devices since; only the start-up checks count here.
  const checks = cloud
    .requests()
    .filter((r: MockRequestLog) => r.method === 'GET' && !r.path.includes('/devices'));
  return { opened, waits, checks };
};

/** 'started', or the refusal in full (a failure says why). */
const outcome = (r: Awaited<ReturnType<typeof openSession>>): string =>
  r.ok ? 'started' : `${r.error.code}: ${r.error.message}`;

const tokenChecks = (log: readonly MockRequestLog[]) =>
  log.filter((r) => r.path === `/v1/products/${DEMO_PRODUCT_ID}`);
const firmwareChecks = (log: readonly MockRequestLog[]) => log.filter((r) => r.path.endsWith('/firmware'));

describe('starting a cloud batch on a flaky network', () => {
  it('waits out three 429s with Retry-After and starts, reporting each wait', async () => {
    const { opened, waits, checks } = await start('flash', '429*3,retryAfter=0.2');
    expect(outcome(opened)).toBe('started');
    expect(tokenChecks(checks).map((r) => r.status)).toEqual([429, 429, 429, 200]);
    expect(waits.map((w) => w.message.replace(/ retry in .*$/, ''))).toEqual(
      Array(3).fill('waiting for the Particle Cloud (429,'),
    );
    // Retry-After is a floor on every wait.
    for (const w of waits) expect(w.retryInMs).toBeGreaterThanOrEqual(200);
  });

  it('waits out a 500, a slow 503 and a dropped connection', async () => {
    const { opened, waits, checks } = await start(
      'flash',
      '500*1,slow503*1,drop*1,retryAfter=0.05,slowMs=50',
    );
    expect(outcome(opened)).toBe('started');
    expect(tokenChecks(checks).map((r) => r.fault ?? 'none')).toEqual(['500', 'slow503', 'drop', 'none']);
    expect(waits.map((w) => w.code)).toEqual(['CLOUD_SERVER_ERROR', 'CLOUD_SERVER_ERROR', 'CLOUD_NETWORK']);
  });

  it('refuses a rejected token at once (401), without a retry', async () => {
    const { opened, waits, checks } = await start('flash', '', { token: 'f'.repeat(40) });
    expect(!opened.ok && opened.error.code).toBe('TOKEN_NOT_VALID');
    expect(tokenChecks(checks)).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('gives up after the bound on a cloud that never recovers, naming the offline option', async () => {
    const { opened, waits, checks } = await start('flash', '503,retryAfter=0.05', { cloudWaitMs: 600 });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error.code).toBe('CLOUD_UNREACHABLE');
    expect(opened.error.message).toMatch(/server error \(503\)/);
    expect(opened.error.message).toMatch(/kept trying for [\d.]+ s \(\d+ tries, limit 0\.6 s\)/);
    expect(opened.error.remedy).toMatch(/--offline --accept offline/);
    // Every check but the last was followed by a reported wait.
    expect(tokenChecks(checks).length).toBe(waits.length + 1);
    expect(waits.length).toBeGreaterThan(0);
  });
});

describe('starting an OTA-on-setup batch on a flaky network', () => {
  it('waits out transient answers to the released-firmware check and starts', async () => {
    const { opened, checks } = await start('ota', '429*2,drop*1,retryAfter=0.05');
    expect(outcome(opened)).toBe('started');
    // The three faults fall on the first requests, the released-firmware check's; then the token check.
    expect(firmwareChecks(checks).map((r) => r.fault ?? 'none')).toEqual(['429', '429', 'drop', 'none']);
    expect(tokenChecks(checks).map((r) => r.status)).toEqual([200]);
  });

  it('says the cloud is unreachable (not that the product has no firmware) when it never answers', async () => {
    const { opened } = await start('ota', '500,retryAfter=0.05', { cloudWaitMs: 400 });
    expect(!opened.ok && opened.error.code).toBe('CLOUD_UNREACHABLE');
    expect(!opened.ok && opened.error.message).toMatch(/released firmware .*kept trying for/);
    expect(!opened.ok && opened.error.remedy).toMatch(/--offline --accept offline/);
  });
});

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../core/cli/main';
import { createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { createDrain } from '../../core/cloud/outbox-drain';
import { releasedFirmwareDetail } from '../../core/cloud/readiness';
import { openDatabase } from '../../core/store/database';
import { enqueueRegistration } from '../../core/store/outbox';
import { recordCloudAcceptance } from '../../core/store/outbox-acceptance';
import { captureIo } from './cli-io';
import { deviceId, PRODUCT, TOKEN, tempDir } from './helpers';

// The access token must never appear in anything the station writes or shows: CLI output, error
// values, drain events, the database (rows and raw file bytes, WAL included) or a process's argv.

describe('the access token never leaks', () => {
  let mock: MockCloud;
  let tmp: ReturnType<typeof tempDir>;
  const captured: string[] = [];
  beforeAll(async () => {
    tmp = tempDir();
    mock = await startMockCloud({
      products: [{ id: PRODUCT }],
      tokens: [{ token: TOKEN }],
      nonmemberDevices: [deviceId(900)],
    });
  });
  afterAll(async () => {
    await mock.close();
    tmp.cleanup();
  });

  const expectNoToken = (what: string, text: string) => {
    expect(text.length, `${what} captured nothing`).toBeGreaterThan(0);
    expect(text.includes(TOKEN), `${what} contains the token`).toBe(false);
  };

  it('in CLI output, errors and drain events under faults and auth failures', async () => {
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    for (let n = 1; n <= 40; n++)
      enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n), development: n % 5 === 0 });
    enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(900) });
    enqueueRegistration(db, { productId: PRODUCT, deviceId: 'not-a-device' });

    // Drain events and client errors through a storm, in-process.
    mock.setFaults('500:0.2,429:0.1,timeout:0.05,drop:0.05,401:0.1,retryAfter=0.02,seed=5');
    const client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 300 });
    const drain = createDrain({
      db,
      client,
      batchSize: 5,
      backoff: { baseMs: 10, maxMs: 50 },
      onEvent: (e) => captured.push(JSON.stringify(e)),
    });
    await drain.drainNow({ deadlineMs: 3_000 });
    mock.setFaults('');
    captured.push(JSON.stringify(await client.importDevices('no-such-product', [deviceId(1)])));
    captured.push(JSON.stringify(await releasedFirmwareDetail(client, 'no-such-product')));
    recordCloudAcceptance(db, {
      productId: PRODUCT,
      checkName: 'released-firmware',
      checkResult: 'unknown',
      acceptedBy: 'eng',
    });
    db.close();
    expect(captured.join('\n')).toMatch(/CLOUD_UNAUTHORIZED|CLOUD_SERVER_ERROR/);

    // The CLI: sync (human and JSON, a config error, then success), outbox (human and JSON).
    const env = { PARTICLE_ACCESS_TOKEN: TOKEN };
    const runs: string[][] = [
      ['sync', '--data-dir', tmp.dir, '--api-url', mock.url, '--deadline', '2'],
      ['sync', '--json', '--data-dir', tmp.dir, '--api-url', mock.url, '--deadline', '2'],
      [
        'sync',
        '--data-dir',
        tmp.dir,
        '--api-url',
        mock.url,
        '--product',
        'no-such-product',
        '--deadline',
        '1',
      ],
      ['outbox', '--data-dir', tmp.dir],
      ['outbox', '--json', '--data-dir', tmp.dir],
      ['sync', '--data-dir', tmp.dir, '--token-env', TOKEN],
      ['sync', '--data-dir', tmp.dir, '--debug', '--api-url', 'http://127.0.0.1:1', '--deadline', '1'],
    ];
    mock.setFaults('401:0.5,500:0.2,seed=9');
    for (const argv of runs) {
      const c = captureIo(env);
      await runCli(argv, c.io);
      captured.push(c.all());
    }
    mock.setFaults('');
    expectNoToken('CLI output, errors and events', captured.join('\n'));
  });

  it('in the database, row by row and byte by byte', () => {
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]
    ).map((t) => t.name);
    const dump = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).all())).join('\n');
    expect(dump).toContain(deviceId(1));
    expectNoToken('database dump', dump);
    db.close();
    const files = readdirSync(tmp.dir).filter((f) => f.startsWith('station.sqlite'));
    for (const f of files) {
      const bytes = readFileSync(join(tmp.dir, f));
      expect(bytes.includes(Buffer.from(TOKEN)), `${f} contains the token`).toBe(false);
    }
  });

  it('on the argv of a draining process (what a process listing shows) and in its output', async () => {
    const script = join(tmp.dir, 'drain-child.mjs');
    await build({
      entryPoints: [join(__dirname, 'fixtures', 'drain-child.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      logLevel: 'error',
    });
    const db = openDatabase(join(tmp.dir, 'station.sqlite'));
    for (let n = 200; n < 220; n++) enqueueRegistration(db, { productId: PRODUCT, deviceId: deviceId(n) });
    db.close();
    mock.setFaults('timeout:0.1,500:0.3,seed=2');
    const child = spawn(
      join(process.cwd(), 'node_modules', '.bin', 'node'),
      [
        '--disable-warning=ExperimentalWarning',
        script,
        join(tmp.dir, 'station.sqlite'),
        mock.url,
        'LEAK_TOKEN',
        '3',
      ],
      { env: { ...process.env, LEAK_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const cmdline = `/proc/${child.pid}/cmdline`;
    if (existsSync(cmdline)) expectNoToken('process argv', readFileSync(cmdline, 'utf8'));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    mock.setFaults('');
    expect(code, output.slice(-1000)).toBe(0);
    expectNoToken('drain process output', output);
  });
});

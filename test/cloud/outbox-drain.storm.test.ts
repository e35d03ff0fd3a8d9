import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockCloud, type MockRequestLog, startMockCloud } from '../../core/cloud/mock-server';
import { openDatabase } from '../../core/store/database';
import { enqueueRegistration, listOutbox, outboxCounts } from '../../core/store/outbox';
import { deviceId, PRODUCT, TOKEN, tempDir } from './helpers';

// The "done when" test of the outbox: 500 registrations through a storm of 500s, 429s, timeouts,
// dropped connections and lost acknowledgements, with the draining process SIGKILLed twice
// mid-drain and restarted. Counted from the mock cloud's own request log.

const N = 500;
const BATCH = 10;
const NODE = join(process.cwd(), 'node_modules', '.bin', 'node');
const STORM =
  '500:0.12,503:0.04,429:0.08,timeout:0.04,drop:0.04,dropafter:0.05,slow:0.05,retryAfter=0.05,slowMs=40,seed=11';

interface ChildRun {
  lines: string[];
  stderr: string;
  doneReported: Set<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ChildProcess;
}

const runChild = (script: string, db: string, url: string, killAfterDone?: number): ChildRun => {
  const child = spawn(
    NODE,
    ['--disable-warning=ExperimentalWarning', script, db, url, 'STORM_TOKEN', String(BATCH)],
    {
      env: { ...process.env, STORM_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const run: ChildRun = {
    lines: [],
    stderr: '',
    doneReported: new Set(),
    child,
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const line of parts) {
      run.lines.push(line);
      const m = /^D import (\S+)$/.exec(line);
      if (m?.[1]) run.doneReported.add(m[1]);
      if (killAfterDone !== undefined && run.doneReported.size >= killAfterDone && child.exitCode === null)
        child.kill('SIGKILL');
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    run.stderr += d.toString('utf8');
  });
  return run;
};

const importedIds = (r: MockRequestLog): string[] => {
  const b = r.body as { id?: string; ids?: string[] } | undefined;
  return b?.ids ?? (b?.id ? [b.id] : []);
};

describe('outbox under a fault storm with process restarts', () => {
  let mock: MockCloud;
  let tmp: ReturnType<typeof tempDir>;
  let script: string;
  beforeAll(async () => {
    tmp = tempDir();
    script = join(tmp.dir, 'drain-child.mjs');
    // Bundled whole (zod included) so the child runs from the temp folder on plain Node.
    await build({
      entryPoints: [join(__dirname, 'fixtures', 'drain-child.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      logLevel: 'error',
    });
    mock = await startMockCloud({ products: [{ id: PRODUCT }], tokens: [{ token: TOKEN }], faults: STORM });
  });
  afterAll(async () => {
    await mock?.close();
    tmp?.cleanup();
  });

  it('registers 500 devices, none lost, none resent after an acknowledgement except across a kill', async () => {
    const dbFile = join(tmp.dir, 'station.sqlite');
    const ids = Array.from({ length: N }, (_, i) => deviceId(i + 1));
    const devIds = new Set(ids.filter((_, i) => i % 20 === 0));
    {
      const db = openDatabase(dbFile);
      for (const id of ids)
        enqueueRegistration(db, {
          productId: PRODUCT,
          deviceId: id,
          ...(devIds.has(id) ? { development: true } : {}),
        });
      db.close();
    }

    // Which process sent each request: by the mock's sequence numbers at each process's exit.
    const boundaries: number[] = [];
    const runs: ChildRun[] = [];
    for (const killAt of [150, 330, undefined]) {
      const run = runChild(script, dbFile, mock.url, killAt);
      runs.push(run);
      const exit = await run.exit;
      boundaries.push(mock.requests().at(-1)?.seq ?? 0);
      const db = openDatabase(dbFile);
      const done = new Set(
        listOutbox(db, { state: 'done' })
          .filter((e) => e.action === 'import')
          .map((e) => e.deviceId),
      );
      db.close();
      // Commit before tell: everything the process reported as done was already in the store.
      for (const id of run.doneReported) expect(done.has(id)).toBe(true);
      if (killAt !== undefined) {
        expect(exit.signal, `run killed at ${killAt}; stderr: ${run.stderr.slice(-500)}`).toBe('SIGKILL');
        expect(done.size).toBeLessThan(N);
      } else expect(exit.code, run.stderr.slice(-2000)).toBe(0);
    }
    const processOf = (seq: number) => boundaries.findIndex((b) => seq <= b);

    // None lost: the cloud holds exactly the 500 devices, development ones marked.
    const cloud = mock.devices(PRODUCT);
    expect(cloud.map((d) => d.id).sort()).toEqual([...ids].sort());
    for (const d of cloud) expect(d.development).toBe(devIds.has(d.id));
    const db = openDatabase(dbFile);
    expect(outboxCounts(db)).toEqual({ pending: 0, done: N + devIds.size, failed: 0, blocked: 0 });
    db.close();

    // None duplicated: after the cloud's acknowledgement of a device was delivered, that device is
    // sent again only by a later process, when the one that got the acknowledgement was killed
    // before it could commit it.
    const log = mock.requests();
    const imports = log.filter((r) => r.method === 'POST');
    const firstAck = new Map<string, number>();
    for (const r of imports)
      if (r.response === 'ok' && r.delivered)
        for (const id of importedIds(r)) if (!firstAck.has(id)) firstAck.set(id, r.seq);
    const resentAfterAck: string[] = [];
    for (const r of imports)
      for (const id of importedIds(r)) {
        const ack = firstAck.get(id);
        if (ack === undefined || r.seq <= ack) continue;
        resentAfterAck.push(id);
        expect(processOf(r.seq), `device ${id} resent in the same process that got its ack`).toBeGreaterThan(
          processOf(ack),
        );
      }
    // At most one in-flight batch per kill can be in that window.
    expect(resentAfterAck.length).toBeLessThanOrEqual(2 * BATCH);

    // Every device was applied (newly imported) by exactly one request.
    const applied = new Map<string, number>();
    for (const r of imports) for (const id of r.imported ?? []) applied.set(id, (applied.get(id) ?? 0) + 1);
    expect(applied.size).toBe(N);
    expect([...applied.values()].every((n) => n === 1)).toBe(true);

    // The storm really happened.
    const classes = new Set<string>(log.map((r) => r.fault ?? 'none'));
    for (const f of ['500', '429', 'timeout', 'drop', 'dropafter']) expect(classes.has(f)).toBe(true);
    // Numbers for the report.
    console.info(
      `storm: ${log.length} requests (${imports.length} imports, ${log.length - imports.length} settings), ` +
        `${log.filter((r) => r.fault).length} faulted, ${resentAfterAck.length} resent across kills, ` +
        `done reported per process ${runs.map((r) => r.doneReported.size).join('/')}`,
    );
  });
});

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { err, ok, type Result } from '../errors/result';

/*
 * A throwaway PostgreSQL cluster on a loopback port: for the tests, the benchmark and
 * `linestation demo --line`, which need a real line database and must not depend on one being
 * installed and configured on the machine. It uses the server binaries of the installed
 * `postgresql` package. initdb refuses to run as root, so as root every server command runs as
 * the `postgres` user (which the Debian package creates) through runuser.
 */

export type TempClusterErrorCode = 'LINE_TEMP_CLUSTER_UNAVAILABLE' | 'LINE_TEMP_CLUSTER_FAILED';

export interface TempClusterOptions {
  /** Folder the cluster's own temp folder is made in (default: the OS temp folder). */
  readonly parentDir?: string | undefined;
  /** Database the URL points at (created empty). Default `line`. */
  readonly database?: string | undefined;
  /** Superuser password (default: random). Connections over TCP need it (scram-sha-256). */
  readonly password?: string | undefined;
  /**
   * fsync on commit. Off by default: a test cluster is thrown away, and without fsync it starts
   * and commits fast. The benchmark turns it on so its numbers are a real database's.
   */
  readonly fsync?: boolean | undefined;
  /** Extra postgresql.conf settings, e.g. `{ max_connections: '200' }`. */
  readonly settings?: Readonly<Record<string, string>> | undefined;
}

export interface TempCluster {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>`: the secret is in it; never print it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  /** The same server with another password, user or database (for wrong-password tests). */
  urlWith(change: { password?: string; user?: string; database?: string }): string;
  /** Runs SQL as the superuser on `database` (default: the cluster's database). */
  sql(text: string, values?: readonly unknown[], database?: string): Promise<pg.QueryResult>;
  readonly running: boolean;
  /** Stops the server (`fast` waits for sessions to end cleanly; `immediate` is a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
  /** The server log's end, for a failure message. */
  logTail(lines?: number): string;
  /** Stops the server and deletes its folder. */
  destroy(): Promise<void>;
}

/** The newest installed PostgreSQL server's bin folder (Debian: /usr/lib/postgresql/<v>/bin). */
export const findPostgresBin = (): string | undefined => {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = fromConfig.status === 0 ? fromConfig.stdout.trim() : '';
  if (dir && existsSync(join(dir, 'initdb'))) return dir;
  for (const p of (process.env.PATH ?? '').split(':'))
    if (p && existsSync(join(p, 'initdb')) && existsSync(join(p, 'pg_ctl'))) return p;
  return undefined;
};

interface Runner {
  readonly bin: string;
  /** uid/gid the server runs as when we are root, so its files are handed to that user. */
  readonly owner: { uid: number; gid: number } | undefined;
}

const runnerOrReason = (): Runner | string => {
  const bin = findPostgresBin();
  if (!bin)
    return 'no PostgreSQL server binaries (initdb, pg_ctl) are installed; install the Debian package "postgresql"';
  if (typeof process.getuid !== 'function') return 'a temporary cluster needs a POSIX system';
  if (process.getuid() !== 0) return { bin, owner: undefined };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0)
    return 'running as root, and initdb refuses root, but there is no "postgres" user to run it as';
  if (spawnSync('runuser', ['--help']).status !== 0)
    return 'running as root without runuser to drop to "postgres"';
  return { bin, owner: { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) } };
};

/** Why a temporary cluster cannot run here, or undefined when it can. Tests skip with this text. */
export const tempClusterUnavailable = (): string | undefined => {
  const r = runnerOrReason();
  return typeof r === 'string' ? r : undefined;
};

const run = (
  runner: Runner,
  tool: string,
  args: readonly string[],
): Promise<{ code: number; output: string }> => {
  const exe = join(runner.bin, tool);
  const [file, argv] = runner.owner ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, [...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** Clusters this process started: a test that dies must not leave a postmaster behind. */
const live = new Set<{ runner: Runner; dataDir: string }>();
let exitHookInstalled = false;
const installExitHook = () => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      const exe = join(c.runner.bin, 'pg_ctl');
      const args = ['-D', c.dataDir, '-m', 'immediate', '-w', 'stop'];
      if (c.runner.owner) spawnSync('runuser', ['-u', 'postgres', '--', exe, ...args]);
      else spawnSync(exe, args);
    }
  });
};

const quoteConf = (v: string): string => `'${v.replaceAll("'", "''")}'`;

/**
 * Creates and starts a cluster: initdb (scram-sha-256 over TCP, trust on its private socket),
 * listening on 127.0.0.1 only, on a free port, then creates the database the URL names.
 */
export const startTempCluster = async (
  options: TempClusterOptions = {},
): Promise<Result<TempCluster, TempClusterErrorCode>> => {
  const runner = runnerOrReason();
  if (typeof runner === 'string')
    return err(
      'LINE_TEMP_CLUSTER_UNAVAILABLE',
      `A temporary PostgreSQL cluster cannot run here: ${runner}.`,
      {
        remedy:
          'Install the Debian package "postgresql", or point LINESTATION_LINE_DB at an existing database.',
      },
    );
  const root = mkdtempSync(join(options.parentDir ?? tmpdir(), 'ls-pg-'));
  const dataDir = join(root, 'data');
  const password = options.password ?? randomBytes(12).toString('hex');
  const database = options.database ?? 'line';
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runner.owner) {
    chownSync(root, runner.owner.uid, runner.owner.gid);
    chownSync(pwfile, runner.owner.uid, runner.owner.gid);
  }
  const failed = (message: string, output: string) => {
    rmSync(root, { recursive: true, force: true });
    return err('LINE_TEMP_CLUSTER_FAILED', `${message}: ${output.split('\n').slice(-5).join(' ')}`, {
      remedy: 'See the PostgreSQL output above; check free disk space in the temp folder.',
    });
  };
  const init = await run(runner, 'initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--pwfile',
    pwfile,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  rmSync(pwfile, { force: true });
  if (init.code !== 0) return failed('initdb failed', init.output);

  const logFile = join(root, 'server.log');
  const state = { running: false, port: 0 };
  const pgCtl = (args: readonly string[]) => run(runner, 'pg_ctl', ['-D', dataDir, ...args]);
  const startServer = async (): Promise<{ code: number; output: string }> =>
    pgCtl(['-l', logFile, '-w', '-t', '60', 'start']);

  // A port picked free may be taken by someone else before the server binds it: try again.
  let started: { code: number; output: string } = { code: 1, output: 'not started' };
  for (let tries = 0; tries < 5 && started.code !== 0; tries++) {
    state.port = await freePort();
    const conf = {
      listen_addresses: '127.0.0.1',
      port: String(state.port),
      unix_socket_directories: root,
      fsync: options.fsync ? 'on' : 'off',
      // Never off, even here: the station forgets a change once the commit returns, and with
      // asynchronous commit a server crash (the outage tests stop it with -m immediate) loses it.
      synchronous_commit: 'on',
      full_page_writes: options.fsync ? 'on' : 'off',
      max_connections: '200',
      shared_buffers: '128MB',
      ...options.settings,
    };
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      `\n# linestation temp cluster\n${Object.entries(conf)
        .map(([k, v]) => `${k} = ${quoteConf(v)}`)
        .join('\n')}\n`,
    );
    started = await startServer();
  }
  if (started.code !== 0) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8') : started.output;
    return failed('The temporary PostgreSQL server did not start', tail);
  }
  state.running = true;
  const handle = { runner, dataDir };
  live.add(handle);
  installExitHook();

  const host = '127.0.0.1';
  const user = 'postgres';
  const urlWith = (change: { password?: string; user?: string; database?: string }) =>
    `postgres://${encodeURIComponent(change.user ?? user)}:${encodeURIComponent(change.password ?? password)}@${host}:${state.port}/${encodeURIComponent(change.database ?? database)}`;
  const sql = async (text: string, values: readonly unknown[] = [], db = database) => {
    const client = new pg.Client({
      connectionString: urlWith({ database: db }),
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query(text, values as unknown[]);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  try {
    await sql(`CREATE DATABASE ${database.replaceAll('"', '')}`, [], 'postgres');
  } catch (e) {
    await pgCtl(['-m', 'immediate', '-w', 'stop']);
    live.delete(handle);
    return failed('The line database could not be created', e instanceof Error ? e.message : String(e));
  }

  const cluster: TempCluster = {
    get url() {
      return urlWith({});
    },
    host,
    get port() {
      return state.port;
    },
    user,
    password,
    database,
    dataDir,
    urlWith,
    sql,
    get running() {
      return state.running;
    },
    async stop(mode = 'fast') {
      if (!state.running) return;
      const r = await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
      if (r.code !== 0) throw new Error(`pg_ctl stop failed: ${r.output}`);
      state.running = false;
    },
    async start() {
      if (state.running) return;
      const r = await startServer();
      if (r.code !== 0) throw new Error(`pg_ctl start failed: ${cluster.logTail()}`);
      state.running = true;
    },
    logTail(lines = 20) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async destroy() {
      if (state.running) await pgCtl(['-m', 'immediate', '-w', 'stop']);
      state.running = false;
      live.delete(handle);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return ok(cluster);
};

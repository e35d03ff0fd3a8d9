import pg from 'pg';
import { classifyLineError, type LineDbError, lineDbError } from './errors';
import { probeServer } from './probe';

export interface LinePoolOptions {
  readonly url: string;
  /** Shown in pg_stat_activity, so a DBA can tell the stations apart. */
  readonly applicationName: string;
  readonly max?: number;
  readonly connectTimeoutMs?: number;
  /** Client-side bound on each query: a black-holed network must not hang a pass for ever. */
  readonly queryTimeoutMs?: number;
}

/**
 * A pg pool with the settings a station needs. Server-side timeouts too: a station that vanished
 * mid-transaction (power cut, network cut) must not hold row locks on the line database until
 * TCP keepalive notices, so its idle transaction is ended after 30 s.
 */
export const createLinePool = (o: LinePoolOptions): pg.Pool => {
  const pool = new pg.Pool({
    connectionString: o.url,
    application_name: o.applicationName.slice(0, 63),
    max: o.max ?? 2,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    query_timeout: o.queryTimeoutMs ?? 15_000,
    statement_timeout: o.queryTimeoutMs ?? 15_000,
    idle_in_transaction_session_timeout: 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // The station forgets a change once its COMMIT returns. With asynchronous commit (a server or
    // role may default to it) a crash of the database server would lose changes the station
    // already counted as sent: a gap nobody notices. Every station session commits synchronously.
    options: '-c synchronous_commit=on',
  });
  // An idle client whose connection dies emits 'error' on the pool; unhandled, that would end
  // the station's process. The next pass finds out and reports it.
  pool.on('error', () => undefined);
  return pool;
};

/** Host and TCP port of a postgres:// URL, for the probe; undefined for a socket path. */
const hostPort = (url: string): { host: string; port: number } | undefined => {
  try {
    const u = new URL(url);
    if (!u.hostname || u.searchParams.has('host')) return undefined;
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 5432) };
  } catch {
    return undefined;
  }
};

/**
 * Names a failure to connect. Where pg only saw the connection end or time out, the server is
 * probed: a web server or SSH daemon at that port is LINE_DB_NOT_POSTGRES, not a network fault.
 */
export const diagnoseConnectFailure = async (e: unknown, url: string): Promise<LineDbError> => {
  const named = classifyLineError(e, url);
  if (!['LINE_DB_CONNECTION_LOST', 'LINE_DB_TIMEOUT', 'LINE_DB_ERROR'].includes(named.code)) return named;
  const at = hostPort(url);
  if (!at) return named;
  const probe = await probeServer(at.host, at.port, 1500);
  if (probe.kind === 'not-postgres')
    return lineDbError(
      'LINE_DB_NOT_POSTGRES',
      `The server at ${at.host}:${at.port} is not PostgreSQL: it answered "${probe.banner}".`,
      { host: at.host, port: at.port },
    );
  if (probe.kind === 'closed')
    return lineDbError(
      'LINE_DB_CONNECTION_LOST',
      `The server at ${at.host}:${at.port} closed the connection without the PostgreSQL handshake: it is not PostgreSQL, or something between refuses this station.`,
      { host: at.host, port: at.port },
    );
  if (probe.kind === 'silent')
    return lineDbError(
      'LINE_DB_TIMEOUT',
      `The server at ${at.host}:${at.port} accepts connections but does not answer: it is not PostgreSQL, or it is overloaded.`,
      { host: at.host, port: at.port },
    );
  return named;
};

const guarded = new WeakSet<pg.PoolClient>();
/**
 * A checked-out client whose connection dies between two queries emits 'error' with nobody
 * listening (the pool listens only while it is idle), which would end the process. The next
 * query fails anyway and is handled there.
 */
export const guardClient = (client: pg.PoolClient): pg.PoolClient => {
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => undefined);
  }
  return client;
};

/** Checks out a client, naming a failure to connect (probed, redacted). */
export const connectLine = async (
  pool: pg.Pool,
  url: string,
): Promise<{ ok: true; client: pg.PoolClient } | { ok: false; error: LineDbError }> => {
  try {
    const client = guardClient(await pool.connect());
    return { ok: true, client };
  } catch (e) {
    return { ok: false, error: await diagnoseConnectFailure(e, url) };
  }
};

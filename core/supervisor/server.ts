import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import pg from 'pg';
import { type BackoffPolicy, backoffDelay } from '../cloud/backoff';
import { err, type LsError, ok, type Result } from '../errors/result';
import { type LineDbTarget, redactLineSecrets } from '../line-db/config';
import { diagnoseConnectFailure, guardClient } from '../line-db/connection';
import { classifyLineError } from '../line-db/errors';
import { LINE_NOTIFY_CHANNEL } from '../line-db/schema';
import { sleep } from '../time/sleep';
import { streamAttemptsCsv } from './csv';
import { DEFAULT_LOT_LIMIT, LineModel } from './model';
import { SUPERVISOR_HTML } from './page-dir';
import { recentLotsOf } from './queries';
import { createReadPool, READ_ONLY_OPTIONS, readLine } from './read';
import type { GroupBy, StationState } from './types';
import { lookupUnit } from './unit';

/*
 * `linestation line serve`: the supervisor's page and its JSON API on node:http, reading the line
 * database through a read-only pool. Live: one dedicated connection LISTENs on the stations'
 * channel; notices are gathered for `debounceMs` and the lots they name are read again (a few
 * rows each, see queries.ts); every page gets the changed rows as one server-sent 'update'.
 * NOTIFY does not replay: when the LISTEN connection comes back, the whole line is read again
 * and the pages are told to reload ('reset'); a page whose event stream reconnects reloads too.
 */

export type SupervisorErrorCode = 'SUPERVISOR_PORT_IN_USE' | 'SUPERVISOR_LISTEN_FAILED';

export interface SupervisorOptions {
  readonly target: LineDbTarget;
  /** Default 127.0.0.1: the page is for this machine unless someone decides otherwise. */
  readonly host?: string | undefined;
  /** Default 0 (any free port). */
  readonly port?: number | undefined;
  /** The built page (supervisor.html, assets/); without it only the API is served. */
  readonly pageDir?: string | undefined;
  /** How long notices are gathered before the lots they name are read again. */
  readonly debounceMs?: number | undefined;
  /** How often the station list (last seen, backlog) is read between notices. */
  readonly stationPollMs?: number | undefined;
  /** A comment line on each event stream this often, so proxies and browsers keep it open. */
  readonly keepAliveMs?: number | undefined;
  readonly reconnect?: BackoffPolicy | undefined;
  readonly onEvent?: ((e: SupervisorEvent) => void) | undefined;
}

export type SupervisorEvent =
  | { readonly type: 'loaded'; readonly lots: number; readonly stations: number; readonly ms: number }
  | { readonly type: 'listen-lost'; readonly error: LsError }
  | { readonly type: 'listen-back' }
  | { readonly type: 'refresh-failed'; readonly error: LsError }
  | { readonly type: 'refreshed'; readonly version: number; readonly lots: number; readonly ms: number };

export interface Supervisor {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly model: LineModel;
  /** Event streams open now. */
  clients(): number;
  /** Ends every event stream (the pages reconnect and reload): tests, and a reload. */
  dropClients(): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const GROUPS: readonly GroupBy[] = ['station', 'operator', 'lot'];

interface Notice {
  stationId: string;
  lots: string[];
}

/** The stations' NOTIFY payload (forwarder.ts LineNotice); anything else means "read it all". */
const parseNotice = (payload: string | undefined): Notice | undefined => {
  try {
    const v: unknown = JSON.parse(payload ?? '');
    if (typeof v !== 'object' || v === null) return undefined;
    const { stationId, lots } = v as { stationId?: unknown; lots?: unknown };
    if (typeof stationId !== 'string' || !Array.isArray(lots)) return undefined;
    return { stationId, lots: lots.filter((l): l is string => typeof l === 'string') };
  } catch {
    return undefined;
  }
};

const sameStations = (a: readonly StationState[], b: readonly StationState[]): boolean =>
  JSON.stringify(a.map((s) => ({ ...s, lastSeenAgoS: 0 }))) ===
  JSON.stringify(b.map((s) => ({ ...s, lastSeenAgoS: 0 })));

export const startSupervisor = async (
  o: SupervisorOptions,
): Promise<Result<Supervisor, SupervisorErrorCode | LsError['code']>> => {
  const host = o.host ?? '127.0.0.1';
  const debounceMs = o.debounceMs ?? 200;
  const stationPollMs = o.stationPollMs ?? 5000;
  const keepAliveMs = o.keepAliveMs ?? 15_000;
  const policy = o.reconnect ?? { baseMs: 500, maxMs: 10_000 };
  const url = o.target.url;
  const emit = (e: SupervisorEvent) => {
    try {
      o.onEvent?.(e);
    } catch {
      // A listener's bug must not stop the server.
    }
  };
  const named = (e: unknown): LsError => {
    const c = classifyLineError(e, url);
    return {
      code: c.code,
      message: redactLineSecrets(c.message, url),
      ...(c.remedy ? { remedy: c.remedy } : {}),
    };
  };

  const pool = createReadPool(o.target);
  const model = new LineModel();
  const sse = new Set<ServerResponse>();
  let closing = false;
  // Cuts every backoff short when the server closes.
  const stopping = new AbortController();

  // A lot's reads run side by side on helper connections (one snapshot): the latency of the
  // slowest read instead of their sum, on a database server with the cores for it.
  const HELPERS = 3;
  const read = async (client: pg.PoolClient, lots: readonly string[] | undefined) => {
    const helpers: pg.PoolClient[] = [];
    try {
      for (let i = 0; i < HELPERS; i++) helpers.push(guardClient(await pool.connect()));
    } catch {
      // Fewer helpers (a busy pool): the reads queue on those there are.
    }
    let broken: Error | undefined;
    try {
      return await readLine(client, lots, helpers);
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      for (const h of helpers) h.release(broken);
    }
  };

  const broadcast = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of sse) res.write(text);
  };
  const linkLost = (error: LsError) => {
    const since = model.database.since ?? new Date().toISOString();
    if (model.setDatabase({ state: 'lost', since, error: { code: error.code, message: error.message } }))
      broadcast('database', model.database);
  };
  const linkLive = () => {
    if (!listener) return;
    if (model.setDatabase({ state: 'live', since: null, error: null })) broadcast('database', model.database);
  };

  // ---- live: LISTEN, gathered notices, reads of the lots they name ------------------------------
  let pendingLots = new Set<string>();
  let pendingStations = new Set<string>();
  let pendingAll = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;

  // A busy line notifies many times a second. Notices are gathered for debounceMs, and a read
  // starts no sooner than its predecessor's length after it ended, so the supervisor's reads take
  // at most about half a database core however large the running lot grows, while a lone change
  // after a quiet spell is read at once.
  let nextReadAt = 0;
  const pending = () => pendingAll || pendingLots.size > 0 || pendingStations.size > 0;
  const schedule = (delay = Math.max(debounceMs, nextReadAt - performance.now())) => {
    if (closing || timer || running || !pending()) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = refresh().finally(() => {
        running = undefined;
        schedule();
      });
    }, delay);
  };

  const refresh = async (): Promise<void> => {
    const all = pendingAll;
    const lots = new Set(pendingLots);
    const stations = new Set(pendingStations);
    pendingAll = false;
    pendingLots = new Set();
    pendingStations = new Set();
    const t0 = performance.now();
    let client: pg.PoolClient | undefined;
    try {
      client = guardClient(await pool.connect());
      if (all) {
        const got = await read(client, undefined);
        model.replaceAll(got.lots, got.stations);
        broadcast('reset', { version: model.version });
      } else {
        // A notice lists at most 20 lots: for a longer pass, the station's recent lots.
        for (const id of stations) for (const lot of await recentLotsOf(client, id)) lots.add(lot);
        const names = [...lots];
        const got = await read(client, names);
        broadcast('update', model.applyChange(names, got.lots, got.stations));
      }
      failures = 0;
      linkLive();
      nextReadAt = all ? 0 : 2 * performance.now() - t0;
      emit({
        type: 'refreshed',
        version: model.version,
        lots: all ? -1 : lots.size,
        ms: performance.now() - t0,
      });
      client.release();
    } catch (e) {
      client?.release(e instanceof Error ? e : true);
      // Nothing is lost: the same reads wait for the next try.
      if (all) pendingAll = true;
      for (const l of lots) pendingLots.add(l);
      for (const s of stations) pendingStations.add(s);
      failures++;
      const error = named(e);
      linkLost(error);
      emit({ type: 'refresh-failed', error });
      await sleep(backoffDelay(failures, policy, Math.random), stopping.signal);
    }
  };

  let listener: pg.Client | undefined;
  const listen = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: 'linestation supervisor (listen)',
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      options: READ_ONLY_OPTIONS,
    });
    c.on('error', () => undefined);
    await c.connect();
    if (closing) {
      // Closed while this connection was being made: it must not outlive the server.
      await c.end().catch(() => undefined);
      throw new Error('closed');
    }
    c.on('notification', (m) => {
      if (m.channel !== LINE_NOTIFY_CHANNEL) return;
      const n = parseNotice(m.payload);
      if (!n) pendingAll = true;
      else {
        for (const lot of n.lots) pendingLots.add(lot);
        pendingStations.add(n.stationId);
        if (n.lots.length < 20) pendingStations.delete(n.stationId);
      }
      schedule();
    });
    c.once('end', () => {
      if (closing || listener !== c) return;
      listener = undefined;
      const error = {
        code: 'LINE_DB_CONNECTION_LOST',
        message: 'The connection listening for changes was cut.',
      };
      linkLost(error);
      emit({ type: 'listen-lost', error });
      void relisten();
    });
    await c.query(`LISTEN ${LINE_NOTIFY_CHANNEL}`);
    listener = c;
  };

  const relisten = async () => {
    for (let tries = 1; !closing; tries++) {
      await sleep(backoffDelay(tries, policy, Math.random), stopping.signal);
      if (closing) return;
      try {
        await listen();
        // What was forwarded while nobody listened is not replayed: read it all again.
        pendingAll = true;
        schedule(0);
        emit({ type: 'listen-back' });
        return;
      } catch (e) {
        const error = named(e);
        linkLost(error);
        emit({ type: 'listen-lost', error });
      }
    }
  };

  // ---- start: listen first, then read, so nothing forwarded in between is missed ----------------
  const t0 = performance.now();
  try {
    await listen();
  } catch (e) {
    await pool.end().catch(() => undefined);
    const d = await diagnoseConnectFailure(e, url);
    return err(d.code, redactLineSecrets(d.message, url), d.remedy ? { remedy: d.remedy } : {});
  }
  try {
    const client = guardClient(await pool.connect());
    try {
      const got = await read(client, undefined);
      model.replaceAll(got.lots, got.stations);
      emit({
        type: 'loaded',
        lots: got.lots.size,
        stations: got.stations.length,
        ms: performance.now() - t0,
      });
    } finally {
      client.release();
    }
  } catch (e) {
    closing = true;
    await listener?.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const n = named(e);
    return err(n.code, n.message, n.remedy ? { remedy: n.remedy } : {});
  }

  // Heartbeats and backlogs change the stations' rows without a notice.
  const poll = setInterval(() => {
    if (running || closing) return;
    void (async () => {
      try {
        const c = guardClient(await pool.connect());
        try {
          const read = await readLine(c, []);
          if (!sameStations(read.stations, model.stations) && !running) {
            model.setStations(read.stations);
            broadcast('stations', { version: model.version, stations: read.stations });
          }
        } finally {
          c.release();
        }
      } catch {
        // The next poll or notice tries again; a lost connection is reported by the listener.
      }
    })();
  }, stationPollMs);
  const keepAlive = setInterval(() => {
    for (const res of sse) res.write(': keep-alive\n\n');
  }, keepAliveMs);

  // ---- HTTP ------------------------------------------------------------------------------------
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, e: LsError) =>
    send(res, status, { code: e.code, message: e.message, ...(e.remedy ? { remedy: e.remedy } : {}) });

  const serveFile = (res: ServerResponse, file: string, method: string) => {
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // Vite names assets by content hash: they never change under a name.
      'cache-control': file.includes(`${sep}assets${sep}`)
        ? 'public, max-age=31536000, immutable'
        : 'no-store',
      'content-length': statSync(file).size,
    });
    if (method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };

  const page = (res: ServerResponse, path: string, method: string) => {
    const dir = o.pageDir;
    const rel = path === '/' ? SUPERVISOR_HTML : path.slice(1);
    if (!dir || !(rel === SUPERVISOR_HTML || rel.startsWith('assets/')))
      return fail(res, 404, notFound(path));
    const file = normalize(join(dir, rel));
    if (!file.startsWith(normalize(dir) + sep)) return fail(res, 404, notFound(path));
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (rel === SUPERVISOR_HTML) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(
          'The supervisor page is not built. Run "npm run build:renderer" in the checkout; the API works meanwhile (/api/state).\n',
        );
        return;
      }
      return fail(res, 404, notFound(path));
    }
    serveFile(res, file, method);
  };

  const notFound = (path: string): LsError => ({ code: 'NOT_FOUND', message: `Nothing at ${path}.` });

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The page reloads its state on every 'hello': on the first one it has none, and after a
    // reconnect it may have missed updates.
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ version: model.version })}\n\n`);
    sse.add(res);
    req.on('close', () => sse.delete(res));
  };

  const api = async (req: IncomingMessage, res: ServerResponse, u: URL) => {
    const path = u.pathname;
    if (path === '/api/state') return send(res, 200, model.state());
    if (path === '/api/stats') {
      const by = u.searchParams.get('by') ?? 'station';
      if (!GROUPS.includes(by as GroupBy))
        return fail(res, 400, { code: 'BAD_REQUEST', message: 'by must be station, operator or lot.' });
      const limit = Number(u.searchParams.get('limit') ?? DEFAULT_LOT_LIMIT);
      return send(
        res,
        200,
        model.stats(by as GroupBy, Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LOT_LIMIT),
      );
    }
    if (path === '/api/events') return events(req, res);
    if (path.startsWith('/api/unit/')) {
      let q: string;
      try {
        q = decodeURIComponent(path.slice('/api/unit/'.length));
      } catch {
        return fail(res, 400, { code: 'BAD_REQUEST', message: 'The unit in the address is not readable.' });
      }
      const c = guardClient(await pool.connect());
      try {
        return send(res, 200, await lookupUnit(c, q));
      } finally {
        c.release();
      }
    }
    if (path === '/api/attempts.csv') {
      const lot = u.searchParams.get('lot') ?? undefined;
      const c = guardClient(await pool.connect());
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const name = `line-attempts${lot ? `-${lot.replace(/[^\w.-]+/g, '_')}` : ''}.csv`;
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      });
      try {
        await streamAttemptsCsv(c, {
          lot,
          signal: abort.signal,
          write: (chunk) =>
            res.write(chunk) || abort.signal.aborted
              ? undefined
              : new Promise<void>((resolve) => {
                  res.once('drain', resolve);
                  res.once('close', resolve);
                }),
        });
        c.release();
      } catch (e) {
        c.release(e instanceof Error ? e : true);
        // The header is gone: cut the download so it cannot pass for a whole file.
        res.destroy();
        return;
      }
      res.end();
      return;
    }
    return fail(res, 404, notFound(path));
  };

  let bound: AddressInfo | undefined;
  const hostAllowed = (req: IncomingMessage): boolean => {
    // A page on another site could otherwise reach a loopback server through DNS rebinding.
    if (!LOOPBACK.has(host)) return true;
    const h = (req.headers.host ?? '').replace(/:\d+$/, '');
    return LOOPBACK.has(h);
  };

  const server: Server = createServer((req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-security-policy', CSP);
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return fail(res, 405, { code: 'READ_ONLY', message: 'The supervisor view only reads.' });
    }
    if (!hostAllowed(req))
      return fail(res, 421, {
        code: 'BAD_HOST',
        message: 'This server answers on its loopback address only.',
      });
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!u.pathname.startsWith('/api/')) return page(res, u.pathname, method);
    api(req, res, u).catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else fail(res, 503, named(e));
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    bound = server.address() as AddressInfo;
  } catch (e) {
    closing = true;
    clearInterval(poll);
    clearInterval(keepAlive);
    await listener?.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EADDRINUSE'
      ? err('SUPERVISOR_PORT_IN_USE', `Port ${o.port} on ${host} is already in use.`, {
          remedy: 'Give another port with --port N, or stop what listens there.',
        })
      : err('SUPERVISOR_LISTEN_FAILED', `Could not listen on ${host}:${o.port ?? 0}: ${String(e)}`, {
          remedy: 'Check --host: it must be an address of this machine.',
        });
  }
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  return ok({
    url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${bound.port}/`,
    host: bound.address,
    port: bound.port,
    model,
    clients: () => sse.size,
    dropClients() {
      for (const res of sse) res.destroy();
      sse.clear();
    },
    async close() {
      closing = true;
      stopping.abort();
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      clearInterval(keepAlive);
      for (const res of sse) res.end();
      sse.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running?.catch(() => undefined);
      await listener?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  });
};

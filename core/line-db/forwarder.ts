import type { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import { type BackoffPolicy, backoffDelay } from '../cloud/backoff';
import { type LsError, toLsError } from '../errors/result';
import { ackLineFeed, enableLineFeed, lineFeedState, readLineFeed } from '../store/line-feed';
import { sleep } from '../time/sleep';
import type { LineDbTarget } from './config';
import { connectLine, createLinePool } from './connection';
import { classifyLineError, isLineDbError, type LineDbError, type LineWarningCode } from './errors';
import { LINE_TABLES, type LineChunk, readChunk, upsertSql } from './rows';
import {
  appliedLineMigrations,
  LINE_MIGRATIONS,
  LINE_NOTIFY_CHANNEL,
  LINE_SCHEMA,
  migrateLineDb,
  newerSchemaError,
} from './schema';
import type { LineState, LineStatus } from './status';

/** Who forwards: the ID keys every row, the name is for people. */
export interface LineStation {
  readonly id: string;
  readonly name: string;
  readonly hostname?: string | undefined;
  readonly version?: string | undefined;
}

/** Transient failures (network, server down): back soon, then less often. */
export const DEFAULT_LINE_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };
/** Refusals (password, grants, read-only, newer schema): someone must act; look now and then. */
export const DEFAULT_LINE_CONFIG_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 60_000 };

export interface ForwarderOptions {
  /** The station's SQLite log (the station's own handle, or another on the same file). */
  readonly db: DatabaseSync;
  /** Where to forward, or why there is nowhere (a bad URL): the forwarder then only reports it. */
  readonly target: LineDbTarget | LineDbError;
  readonly station: LineStation;
  /** A pool to use (not ended by stop); default: one made for the target. */
  readonly pool?: pg.Pool | undefined;
  readonly backoff?: BackoffPolicy | undefined;
  readonly configBackoff?: BackoffPolicy | undefined;
  /** Feed entries per pass (one PostgreSQL transaction). */
  readonly maxChanges?: number | undefined;
  /** How often an idle forwarder looks for new changes. */
  readonly idlePollMs?: number | undefined;
  /** An idle forwarder still says hello this often (the line sees it alive; outages show). */
  readonly heartbeatMs?: number | undefined;
  /** A clock difference with the line database larger than this is shown (LINE_CLOCK_SKEW). */
  readonly skewWarnMs?: number | undefined;
  /** The station's clock (its skew is measured against the database's). */
  readonly now?: (() => number) | undefined;
  readonly random?: (() => number) | undefined;
  readonly onEvent?: ((e: ForwarderEvent) => void) | undefined;
  /**
   * How long stop() waits for a pass in flight (default 3 s). A black-holed network would
   * otherwise hold the station's close for the whole query timeout; a pass left behind that
   * still commits is simply sent again by the next start.
   */
  readonly stopWaitMs?: number | undefined;
}

/** Told after the line database committed (`forwarded`) or when the state changes. */
export type ForwarderEvent =
  | {
      readonly type: 'forwarded';
      readonly upToSeq: number;
      readonly changes: number;
      readonly rows: number;
      /** Station clock (ms) when the commit was confirmed. */
      readonly at: number;
    }
  | { readonly type: 'state'; readonly status: LineStatus };

export interface Forwarder {
  /** Starts forwarding in the background (turning the local change feed on); idempotent. */
  start(): void;
  /** Stops it; a pass in flight finishes or fails first (its changes stay queued if it fails). */
  stop(): Promise<void>;
  /** Looks for changes now instead of at the next poll. */
  wake(): void;
  status(): LineStatus;
  /** Forwards everything queued now, retrying with backoff until none is left or the deadline. */
  forwardNow(opts?: { deadlineMs?: number; signal?: AbortSignal }): Promise<LineStatus>;
  subscribe(listener: (e: ForwarderEvent) => void): () => void;
}

export interface LineNotice {
  readonly stationId: string;
  readonly station: string;
  readonly upToSeq: number;
  readonly batches: number;
  readonly attempts: number;
  readonly registrations: number;
  readonly audit: number;
  readonly lots: readonly string[];
}

const SKEW_WARN_MS = 120_000;

const describeSkew = (ms: number): string => {
  const abs = Math.abs(ms);
  const minutes = Math.round(abs / 60_000);
  const seconds = Math.round(abs / 1000);
  const span =
    minutes >= 60
      ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
      : seconds >= 60
        ? `${Math.floor(seconds / 60)} min ${seconds % 60} s`
        : `${seconds} s`;
  return `${span} ${ms > 0 ? 'ahead of' : 'behind'}`;
};

export const createForwarder = (options: ForwarderOptions): Forwarder => {
  const { db, station } = options;
  const target = isLineDbError(options.target) ? undefined : options.target;
  const configError = isLineDbError(options.target) ? options.target : undefined;
  const policy = options.backoff ?? DEFAULT_LINE_BACKOFF;
  const configPolicy = options.configBackoff ?? DEFAULT_LINE_CONFIG_BACKOFF;
  const maxChanges = Math.max(1, options.maxChanges ?? 5000);
  const idlePollMs = options.idlePollMs ?? 200;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const skewWarnMs = options.skewWarnMs ?? SKEW_WARN_MS;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const ownPool = !options.pool && target !== undefined;
  const pool =
    options.pool ??
    (target
      ? createLinePool({
          url: target.url,
          applicationName: `linestation ${station.name} ${station.id.slice(0, 8)}`,
          max: 1,
        })
      : undefined);

  const listeners = new Set<(e: ForwarderEvent) => void>();
  if (options.onEvent) listeners.add(options.onEvent);
  const emit = (e: ForwarderEvent) => {
    for (const l of listeners)
      try {
        l(e);
      } catch {
        // A listener's bug must not stop forwarding.
      }
  };

  let state: LineState = configError ? 'refused' : 'stopped';
  let error: LsError | null = configError ?? null;
  let failingSince: number | null = configError ? now() : null;
  let nextTryAt: number | null = null;
  let lastForwardAt: number | null = null;
  let lastContact = 0;
  let failures = 0;
  let clockSkewMs: number | null = null;
  let sameName: { stationId: string; lastSeenAt: string }[] = [];
  let schemaReady = false;

  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const warnings = (): LsError<LineWarningCode>[] => {
    const out: LsError<LineWarningCode>[] = [];
    if (clockSkewMs !== null && Math.abs(clockSkewMs) > skewWarnMs)
      out.push({
        code: 'LINE_CLOCK_SKEW',
        message: `This station's clock is ${describeSkew(clockSkewMs)} the line database's. Its records keep their order (they are ordered by the station's own sequence), but the times it records are off by that much.`,
        remedy: "Set the station's clock (turn on network time, NTP).",
        details: { clockSkewMs },
      });
    if (sameName.length > 0)
      out.push({
        code: 'LINE_DUPLICATE_STATION_NAME',
        message: `${sameName.length === 1 ? 'Another station is' : `${sameName.length} other stations are`} also named "${station.name}" (${sameName.map((s) => `ID ${s.stationId}, last seen ${s.lastSeenAt}`).join('; ')}). This one is ${station.id}. Their records are kept apart by ID, but people will mix them up.`,
        remedy: 'Give each station its own name in its settings (linestation run --station NAME).',
        details: { stationId: station.id, others: sameName },
      });
    return out;
  };

  let lastFeed = { behind: 0, ackedSeq: 0 };
  const status = (): LineStatus => {
    try {
      if (db.isOpen) lastFeed = lineFeedState(db);
    } catch {
      // An unreadable log: report what we last knew.
    }
    const feed = lastFeed;
    return {
      state,
      target: target?.display ?? '(not usable)',
      envName: target?.envName ?? String(configError?.details?.envName ?? ''),
      stationId: station.id,
      stationName: station.name,
      behind: feed.behind,
      forwardedSeq: feed.ackedSeq,
      lastForwardAt: iso(lastForwardAt),
      failingSince: iso(failingSince),
      error,
      nextTryAt: state === 'unreachable' || state === 'refused' ? iso(nextTryAt) : null,
      clockSkewMs,
      warnings: warnings(),
      sameNameStations: sameName,
    };
  };

  const setState = (next: LineState) => {
    const changed = next !== state;
    state = next;
    if (changed) emit({ type: 'state', status: status() });
  };

  /** Reads the next changes and their rows as one snapshot of the log. */
  const snapshot = (): { chunk: LineChunk; behindAfter: number } => {
    db.exec('BEGIN');
    try {
      const entries = readLineFeed(db, maxChanges);
      const chunk = readChunk(db, entries);
      const feed = lineFeedState(db);
      return { chunk, behindAfter: Math.max(0, feed.lastSeq - Math.max(chunk.upToSeq, feed.ackedSeq)) };
    } finally {
      if (db.isTransaction) db.exec('COMMIT');
    }
  };

  /** One PostgreSQL transaction: the station's row, every changed row, a NOTIFY; then the local ack. */
  const pass = async (): Promise<{ changes: number }> => {
    if (!target || !pool) throw configError;
    const { chunk, behindAfter } = snapshot();
    const conn = await connectLine(pool, target.url);
    if (!conn.ok) throw conn.error;
    const client = conn.client;
    let broken: Error | undefined;
    try {
      if (!schemaReady) {
        await migrateLineDb(client, LINE_MIGRATIONS, `${station.name} (${station.id})`);
        schemaReady = true;
      }
      await client.query('BEGIN');
      const newer = newerSchemaError(await appliedLineMigrations(client));
      if (newer) throw newer;
      const forwardedSeq = chunk.changes > 0 ? chunk.upToSeq : lineFeedState(db).ackedSeq;
      const skew = await client.query<{ clock_skew_ms: string }>(
        `INSERT INTO ${LINE_SCHEMA}.stations AS s (station_id, name, hostname, app_version, station_clock_at, clock_skew_ms, forwarded_seq, behind)
           VALUES ($1::uuid, $2, $3, $4, $5::timestamptz, round(extract(epoch FROM ($5::timestamptz - clock_timestamp())) * 1000), $6, $7)
         ON CONFLICT (station_id) DO UPDATE SET name = excluded.name, hostname = excluded.hostname,
           app_version = excluded.app_version, station_clock_at = excluded.station_clock_at,
           clock_skew_ms = excluded.clock_skew_ms, forwarded_seq = GREATEST(s.forwarded_seq, excluded.forwarded_seq),
           behind = excluded.behind, last_seen_at = now()
         RETURNING clock_skew_ms`,
        [
          station.id,
          station.name,
          station.hostname ?? null,
          station.version ?? null,
          new Date(now()).toISOString(),
          forwardedSeq,
          behindAfter,
        ],
      );
      const others = await client.query<{ station_id: string; last_seen_at: Date }>(
        `SELECT station_id::text, last_seen_at FROM ${LINE_SCHEMA}.stations WHERE name = $1 AND station_id <> $2::uuid ORDER BY last_seen_at DESC`,
        [station.name, station.id],
      );
      let rows = 0;
      for (const t of Object.values(LINE_TABLES)) {
        const list = chunk.rows[t.kind];
        if (list.length === 0) continue;
        await client.query(upsertSql(t), [station.id, JSON.stringify(list)]);
        rows += list.length;
      }
      if (chunk.changes > 0) {
        const notice: LineNotice = {
          stationId: station.id,
          station: station.name,
          upToSeq: chunk.upToSeq,
          batches: chunk.rows.batch.length,
          attempts: chunk.rows.attempt.length,
          registrations: chunk.rows.registration.length,
          audit: chunk.rows.audit.length,
          // NOTIFY payloads are limited to 8000 bytes.
          lots: chunk.lots.slice(0, 20),
        };
        await client.query('SELECT pg_notify($1, $2)', [LINE_NOTIFY_CHANNEL, JSON.stringify(notice)]);
      }
      await client.query('COMMIT');
      clockSkewMs = Number(skew.rows[0]?.clock_skew_ms ?? 0);
      sameName = others.rows.map((r) => ({
        stationId: r.station_id,
        lastSeenAt: new Date(r.last_seen_at).toISOString(),
      }));
      // Only now is it safe to forget these changes: the line database has them.
      if (chunk.changes > 0) ackLineFeed(db, chunk.upToSeq);
      lastContact = now();
      if (chunk.changes > 0) {
        lastForwardAt = lastContact;
        emit({ type: 'forwarded', upToSeq: chunk.upToSeq, changes: chunk.changes, rows, at: lastContact });
      }
      return { changes: chunk.changes };
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      // A client that failed mid-transaction may be in any state: it is not handed out again.
      client.release(broken);
    }
  };

  const onSuccess = () => {
    failures = 0;
    error = null;
    failingSince = null;
    nextTryAt = null;
    setState('connected');
  };

  /** Records a failure and returns how long to wait before the next try. */
  const onFailure = (e: unknown): number => {
    const named: LsError & { kind?: string } =
      e === configError && configError
        ? configError
        : isLineDbError(e)
          ? e
          : /^STORE_/.test(toLsError(e).code)
            ? toLsError(e)
            : classifyLineError(e, target?.url);
    schemaReady = false;
    failures++;
    error = named;
    failingSince ??= now();
    const refused = named.kind === 'config';
    const wait = backoffDelay(failures, refused ? configPolicy : policy, random);
    nextTryAt = now() + wait;
    const before = state;
    state = refused ? 'refused' : 'unreachable';
    // Every failure is worth telling (the code may change while the state does not).
    if (before !== state || failures === 1) emit({ type: 'state', status: status() });
    return wait;
  };

  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;

  const nap = async (ms: number, signal: AbortSignal, wakeable: boolean) => {
    const ctl = new AbortController();
    const onStop = () => ctl.abort();
    signal.addEventListener('abort', onStop, { once: true });
    if (wakeable) wakeUp = () => ctl.abort();
    await sleep(ms, ctl.signal);
    signal.removeEventListener('abort', onStop);
    wakeUp = undefined;
  };

  const runLoop = async (signal: AbortSignal) => {
    if (state === 'stopped') setState('connecting');
    // The feed is turned on here, not in start(): a log that cannot be written now (a full disk)
    // must not throw into the station's start; it is retried like any other failure.
    let enabled = false;
    while (!signal.aborted && !enabled) {
      try {
        enableLineFeed(db);
        enabled = true;
      } catch (e) {
        await nap(onFailure(e), signal, false);
      }
    }
    while (!signal.aborted) {
      let due = false;
      try {
        due = lineFeedState(db).behind > 0 || now() - lastContact >= heartbeatMs || state !== 'connected';
      } catch (e) {
        await nap(onFailure(e), signal, false);
        continue;
      }
      if (!due) {
        await nap(idlePollMs, signal, true);
        continue;
      }
      try {
        const r = await exclusive(pass);
        onSuccess();
        // A full chunk means more is waiting: go on, but let the station's own work run first.
        if (r.changes >= maxChanges) await new Promise<void>((resolve) => setImmediate(resolve));
      } catch (e) {
        if (signal.aborted) break;
        // Writes do not cut a backoff short, or every slot's commit would hammer a sick database.
        await nap(onFailure(e), signal, false);
      }
    }
  };

  return {
    start() {
      if (loop || configError) {
        if (configError) setState('refused');
        return;
      }
      controller = new AbortController();
      loop = runLoop(controller.signal);
    },
    async stop() {
      controller?.abort();
      wakeUp?.();
      const bound = options.stopWaitMs ?? 3000;
      const within = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), sleep(bound)]);
      await within(Promise.all([loop, chain]));
      loop = undefined;
      controller = undefined;
      if (!configError) state = 'stopped';
      // Read while the log is still open: status() after the station closed reports this.
      status();
      if (ownPool && pool) await within(pool.end());
    },
    wake() {
      wakeUp?.();
    },
    status,
    async forwardNow(opts = {}) {
      if (configError) return status();
      enableLineFeed(db);
      const signal = opts.signal ?? new AbortController().signal;
      const deadline = now() + (opts.deadlineMs ?? 30_000);
      while (!signal.aborted) {
        try {
          const r = await exclusive(pass);
          onSuccess();
          if (r.changes === 0 || lineFeedState(db).behind === 0 || now() >= deadline) break;
        } catch (e) {
          const wait = onFailure(e);
          if (now() + wait > deadline) break;
          await sleep(wait, signal);
        }
      }
      return status();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};

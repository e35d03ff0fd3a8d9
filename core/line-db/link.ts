import { hostname } from 'node:os';
import type { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import type { BackoffPolicy } from '../cloud/backoff';
import { err, ok, type Result } from '../errors/result';
import type { LineCheck } from '../station/pipeline';
import { sleep } from '../time/sleep';
import { DEFAULT_LINE_DB_ENV, type LineDbTarget, lineDbTargetFromEnv } from './config';
import { connectLine, createLinePool } from './connection';
import { classifyLineError, type LineDbError, type LineDbErrorCode, lineDbError } from './errors';
import { createForwarder, type Forwarder, type LineStation } from './forwarder';
import { lookupUnitHistory, type UnitHistory } from './history';
import { createLineCheck } from './line-check';
import { loadStationId } from './station-identity';
import type { LineStatus } from './status';

/** Timings; the defaults suit a real line, tests and benchmarks shorten them. */
export interface LineTuning {
  readonly backoff?: BackoffPolicy | undefined;
  readonly configBackoff?: BackoffPolicy | undefined;
  readonly idlePollMs?: number | undefined;
  readonly heartbeatMs?: number | undefined;
  readonly maxChanges?: number | undefined;
  /** How long identify waits for the line database (default 1 s). */
  readonly lookupTimeoutMs?: number | undefined;
  /** How long a claim on a device ID lasts if never released (default 45 min). */
  readonly leaseMs?: number | undefined;
  readonly skewWarnMs?: number | undefined;
  /** The station's clock (skew tests). */
  readonly now?: (() => number) | undefined;
}

export interface LineLinkOptions {
  /** The station's SQLite log. */
  readonly db: DatabaseSync;
  /** Where the station ID is kept. */
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The variable holding the URL (default LINESTATION_LINE_DB); the station settings may name another. */
  readonly envName?: string | undefined;
  readonly stationName: string;
  readonly version?: string | undefined;
  readonly tuning?: LineTuning | undefined;
}

/** A station's connection to the line database: the forwarder, the check at identify, the lookups. */
export interface LineLink {
  readonly stationId: string;
  readonly forwarder: Forwarder;
  /** For StationPolicy.lineCheck. */
  readonly lineCheck: LineCheck;
  status(): LineStatus;
  /** What the other stations know about a device (the supervisor view and the CLI use it too). */
  history(
    deviceId: string,
    q: { lot: string; productId: string },
  ): Promise<Result<UnitHistory, LineDbErrorCode>>;
  start(): void;
  /** Forwards what it can within `flushMs` (only while connected), then stops; never throws. */
  close(options?: { flushMs?: number }): Promise<void>;
}

/**
 * Opens the link when a line database is configured, or returns undefined when none is (the
 * station then works alone, as before). A configuration that cannot work (a bad URL, a URL
 * where a variable name belongs) gives a link that shows the error and forwards nothing, while
 * the feed keeps every change for when it is fixed: the station never stops for the line.
 */
export const openLineLink = (o: LineLinkOptions): Result<LineLink | undefined, 'STATION_ID_UNREADABLE'> => {
  const envName = o.envName ?? DEFAULT_LINE_DB_ENV;
  const resolved = lineDbTargetFromEnv(o.env, envName);
  if (resolved.ok && resolved.value === undefined) return ok(undefined);
  const idR = loadStationId(o.dataDir);
  if (!idR.ok)
    return err(idR.error.code, idR.error.message, idR.error.remedy ? { remedy: idR.error.remedy } : {});
  const station: LineStation = {
    id: idR.value,
    name: o.stationName,
    hostname: hostname(),
    ...(o.version ? { version: o.version } : {}),
  };
  const t = o.tuning ?? {};
  const target: LineDbTarget | LineDbError = resolved.ok
    ? (resolved.value as LineDbTarget)
    : lineDbError(resolved.error.code, resolved.error.message, { envName });
  const url = resolved.ok ? resolved.value?.url : undefined;

  const forwarder = createForwarder({
    db: o.db,
    target,
    station,
    backoff: t.backoff,
    configBackoff: t.configBackoff,
    idlePollMs: t.idlePollMs,
    heartbeatMs: t.heartbeatMs,
    maxChanges: t.maxChanges,
    skewWarnMs: t.skewWarnMs,
    now: t.now,
  });
  const lookupPool: pg.Pool | undefined = url
    ? createLinePool({
        url,
        applicationName: `linestation ${station.name} lookups`,
        max: 2,
        connectTimeoutMs: Math.max(500, t.lookupTimeoutMs ?? 1000),
        queryTimeoutMs: 5000,
      })
    : undefined;
  const checker =
    lookupPool && url
      ? createLineCheck({
          pool: lookupPool,
          url,
          station,
          timeoutMs: t.lookupTimeoutMs,
          leaseMs: t.leaseMs,
          knownDown: () => {
            const s = forwarder.status();
            return s.state === 'unreachable' || s.state === 'refused' ? (s.error ?? undefined) : undefined;
          },
        })
      : undefined;
  const refusedCheck: LineCheck = async () => ({
    check: `skipped: refused (${forwarder.status().error?.code ?? 'LINE_DB_BAD_URL'})`,
  });

  return ok({
    stationId: station.id,
    forwarder,
    lineCheck: checker?.check ?? refusedCheck,
    status: () => forwarder.status(),
    async history(deviceId, q) {
      if (!lookupPool || !url) {
        const e = forwarder.status().error;
        return err(
          (e?.code ?? 'LINE_DB_BAD_URL') as LineDbErrorCode,
          e?.message ?? 'No usable line database.',
        );
      }
      const conn = await connectLine(lookupPool, url);
      if (!conn.ok) return { ok: false, error: conn.error };
      try {
        return ok(await lookupUnitHistory(conn.client, { deviceId, ...q, stationId: station.id }));
      } catch (e) {
        return { ok: false, error: classifyLineError(e, url) };
      } finally {
        conn.client.release();
      }
    },
    start: () => forwarder.start(),
    async close(options = {}) {
      try {
        const flushMs = options.flushMs ?? 0;
        if (flushMs > 0 && forwarder.status().state === 'connected')
          await forwarder.forwardNow({ deadlineMs: flushMs }).catch(() => undefined);
        await checker?.settle(Math.min(2000, Math.max(200, flushMs)));
        await forwarder.stop();
      } finally {
        if (lookupPool) await Promise.race([lookupPool.end().catch(() => undefined), sleep(2000)]);
      }
    },
  });
};

import type pg from 'pg';
import type { LsError } from '../errors/result';
import type { LineCheck, LineCheckResult } from '../station/pipeline';
import { sleep } from '../time/sleep';
import { type ClaimHolder, claimDevice, DEFAULT_CLAIM_LEASE_MS, releaseClaim } from './claims';
import { guardClient } from './connection';
import { classifyLineError } from './errors';
import type { LineStation } from './forwarder';
import { lookupUnitHistory, type UnitHistory } from './history';

/** How long identify waits for the line database before going on with what it knows locally. */
export const DEFAULT_LINE_CHECK_TIMEOUT_MS = 1000;

export interface LineCheckOptions {
  /** A pool of its own: a lookup must never queue behind the forwarder's transaction. */
  readonly pool: pg.Pool;
  readonly url: string;
  readonly station: LineStation;
  readonly timeoutMs?: number | undefined;
  readonly leaseMs?: number | undefined;
  /**
   * The forwarder's latest word: while it knows the database is down or refuses us, identify
   * skips at once instead of waiting out the timeout on every device.
   */
  readonly knownDown?: (() => LsError | undefined) | undefined;
}

export interface LineChecker {
  readonly check: LineCheck;
  /** Claims still being released (close waits for them, briefly). */
  settle(timeoutMs: number): Promise<void>;
}

const hhmm = (iso: string | null): string => {
  if (!iso) return '?';
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

export const duplicateDeviceError = (deviceId: string, holder: ClaimHolder): LsError => ({
  code: 'DUPLICATE_DEVICE_ID',
  message: `Device ID ${deviceId} is being provisioned at station ${holder.station} right now (since ${hhmm(holder.since)}, station ID ${holder.stationId}): two devices report this ID.`,
  remedy:
    'Set this device aside for an engineer: another device on the line reports the same ID, and neither may be registered under it.',
  details: { deviceId, holder },
});

/** The findings as the attempt records them (line_check) and the operator reads them. */
export const describeHistory = (h: UnitHistory): string => {
  const parts: string[] = [];
  if (h.failureCount > 0)
    parts.push(
      `failed ${h.failureCount}× elsewhere: ${h.failures.map((f) => `${f.code ?? 'FAIL'} at ${f.station} ${hhmm(f.at)}`).join(', ')}`,
    );
  if (h.registered) parts.push(`registered already by ${h.registered.station}`);
  if (h.passedInLot)
    return [`passed at ${h.passedInLot.station} at ${h.passedInLot.at}`, ...parts].join('; ');
  return ['ok', ...parts].join('; ');
};

export const createLineCheck = (o: LineCheckOptions): LineChecker => {
  const timeoutMs = o.timeoutMs ?? DEFAULT_LINE_CHECK_TIMEOUT_MS;
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const t = p.catch(() => undefined).finally(() => pending.delete(t));
    pending.add(t);
  };
  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = guardClient(await o.pool.connect());
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (e) {
      broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      client.release(broken);
    }
  };
  const release = (deviceId: string, attemptKey: string) =>
    track(withClient((c) => releaseClaim(c, deviceId, attemptKey)));

  const check: LineCheck = async (deviceId, ctx): Promise<LineCheckResult> => {
    const down = o.knownDown?.();
    if (down) return { check: `skipped: unreachable (${down.code})` };
    const attemptKey = `${o.station.id}:${ctx.attemptId}`;
    const work = withClient(async (c) => {
      const claim = await claimDevice(c, {
        deviceId,
        stationId: o.station.id,
        stationName: o.station.name,
        attemptKey,
        lot: ctx.lot,
        leaseMs: o.leaseMs ?? DEFAULT_CLAIM_LEASE_MS,
      });
      if (!claim.ok) return { kind: 'conflict' as const, holder: claim.holder };
      const history = await lookupUnitHistory(c, {
        deviceId,
        lot: ctx.lot,
        productId: ctx.productId,
        stationId: o.station.id,
      });
      return { kind: 'ok' as const, history };
    });
    const outcome = await Promise.race([
      work.then(
        (v) => ({ v }),
        (e: unknown) => ({ e }),
      ),
      sleep(timeoutMs, ctx.signal).then(() => 'timeout' as const),
    ]);
    if (outcome === 'timeout') {
      // The answer may still come, with a claim we no longer use: give it back.
      track(
        work.then((v) => {
          if (v.kind === 'ok') release(deviceId, attemptKey);
        }),
      );
      return { check: `skipped: no answer within ${timeoutMs} ms` };
    }
    if ('e' in outcome) {
      const named = classifyLineError(outcome.e, o.url);
      return { check: `skipped: ${named.kind === 'config' ? 'refused' : 'unreachable'} (${named.code})` };
    }
    const v = outcome.v;
    if (v.kind === 'conflict')
      return {
        check: `duplicate: held by ${v.holder.station}`,
        conflict: duplicateDeviceError(deviceId, v.holder),
      };
    const h = v.history;
    return {
      check: describeHistory(h),
      ...(h.passedInLot
        ? {
            passedElsewhere: {
              station: h.passedInLot.station,
              at: h.passedInLot.at,
              title: `Already provisioned at station ${h.passedInLot.station} at ${hhmm(h.passedInLot.at)}`,
            },
          }
        : {}),
      ...(h.registered ? { registeredElsewhere: true } : {}),
      release: () => release(deviceId, attemptKey),
    };
  };

  return {
    check,
    async settle(ms) {
      await Promise.race([Promise.all([...pending]), sleep(ms)]);
    },
  };
};

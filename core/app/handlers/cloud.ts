import { createCloudClient } from '../../cloud/client';
import { createDrain } from '../../cloud/outbox-drain';
import { err, ok, type Result, toLsError } from '../../errors/result';
import { loadProfile } from '../../station/profile';
import { listOutbox, outboxCounts } from '../../store/outbox';
import { acquireStationLock, type StationLock, takeoverNotice } from '../../store/station-lock';
import type { HandlerContext, Handlers } from '../context';
import { settingsView } from './settings';

/**
 * The current profile's cloud, with the token from the station's token store (or, failing
 * that, the variable the profile names). The token is read at each request, never copied.
 */
const cloudFor = async (ctx: HandlerContext) => {
  const path = ctx.state.profilePath;
  if (!path)
    return err('NO_PROFILE', 'This station has no product profile loaded.', {
      remedy: 'Load the product profile first.',
    });
  const loaded = await loadProfile(path);
  if (!loaded.ok) return loaded;
  const p = loaded.value.profile;
  const reg = p.registration;
  if (reg?.mode !== 'cloud')
    return err('CLOUD_NOT_CONFIGURED', 'This profile registers offline; there is no cloud to talk to.', {
      remedy: 'Set the profile registration to a cloud URL and token variable.',
    });
  const env = ctx.options.env ?? process.env;
  const client = createCloudClient({
    baseUrl: reg.apiBaseUrl,
    token: async () => (await ctx.tokens.get()) ?? env[reg.tokenEnv]?.trim() ?? undefined,
    timeoutMs: 10_000,
    rateLimiter: ctx.rateLimiter(),
  });
  return ok({ client, productId: String(p.product.id) });
};

export const cloudHandlers = {
  'cloud.setToken': async (request, ctx) => {
    try {
      await ctx.tokens.set(request.token);
    } catch (e) {
      return { ok: false, error: toLsError(e, 'TOKEN_STORE_FAILED') };
    }
    return settingsView(ctx);
  },

  'cloud.test': async (_request, ctx) => {
    const cloud = await cloudFor(ctx);
    if (!cloud.ok) return cloud;
    const r = await cloud.value.client.checkToken(cloud.value.productId);
    if (!r.ok)
      return ok({ ok: false, message: `${r.error.message}${r.error.remedy ? ` ${r.error.remedy}` : ''}` });
    return ok({
      ok: true,
      message: `The token can reach product ${cloud.value.productId}.`,
      productName: r.value.name,
    });
  },

  'cloud.outbox': async (request, ctx) => {
    try {
      const db = ctx.log().db;
      const entries = listOutbox(db)
        .slice(-request.limit)
        .reverse()
        .map((e) => ({
          id: e.id,
          productId: e.productId,
          deviceId: e.deviceId,
          action: e.action,
          state: e.state,
          attempts: e.attempts,
          lastError: e.lastErrorMessage,
        }));
      return ok({ counts: outboxCounts(db), entries });
    } catch (e) {
      return { ok: false, error: toLsError(e) };
    }
  },

  'cloud.sync': async (
    request,
    ctx,
  ): Promise<
    Result<{
      imported: number;
      existing: number;
      failed: number;
      remaining: { pending: number; done: number; failed: number; blocked: number };
      message: string;
    }>
  > => {
    const cloud = await cloudFor(ctx);
    if (!cloud.ok) return cloud;
    // One drainer per data folder: while our batch runs, its own drain does the work; otherwise
    // we take the folder's lock, so a station or a `linestation sync` elsewhere is not raced.
    const running = ctx.line.sessionDrain;
    let lock: StationLock | undefined;
    if (!running) {
      const locked = acquireStationLock(ctx.dataDir, { purpose: 'sync', command: 'linestation app (sync)' });
      if (!locked.ok) return locked;
      lock = locked.value;
      if (lock.tookOverFrom)
        ctx.log().recordAudit('engineer', 'station-lock-takeover', null, {
          message: takeoverNotice(lock.tookOverFrom),
          previous: lock.tookOverFrom,
        });
    }
    const drain =
      running ??
      createDrain({
        db: ctx.log().db,
        client: cloud.value.client,
        productId: cloud.value.productId,
      });
    try {
      const report = await drain.drainNow({ deadlineMs: request.deadlineMs });
      const config = report.configErrors[0];
      return ok({
        imported: report.imported,
        existing: report.existing,
        failed: report.failed.length,
        remaining: report.remaining,
        message: config
          ? `${config.message}${config.remedy ? ` ${config.remedy}` : ''}`
          : report.remaining.pending === 0
            ? 'The outbox is empty: every device is registered.'
            : `${report.remaining.pending} registration(s) still pending; they are retried automatically.`,
      });
    } catch (e) {
      return { ok: false, error: toLsError(e) };
    } finally {
      if (!running) await drain.stop();
      lock?.release();
    }
  },
} satisfies Pick<Handlers, 'cloud.setToken' | 'cloud.test' | 'cloud.outbox' | 'cloud.sync'>;

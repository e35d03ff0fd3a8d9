import type { SettingsView } from '../../contract/station';
import { ok, type Result, toLsError } from '../../errors/result';
import { DEFAULT_LINE_DB_ENV } from '../../line-db/config';
import type { HandlerContext, Handlers } from '../context';

export const settingsView = async (ctx: HandlerContext): Promise<Result<SettingsView>> => {
  const s = ctx.settings.read();
  return ok({
    stationName: s.stationName,
    slotLabels: s.slotLabels,
    pinSet: s.pin !== undefined,
    tokenStored: (await ctx.tokens.get()) !== undefined,
    tokenStorage: ctx.tokens.storage,
    lineDbEnv: s.lineDbEnv ?? DEFAULT_LINE_DB_ENV,
    stationsSharingIp: s.stationsSharingIp ?? 1,
  });
};

export const settingsHandlers = {
  'settings.get': async (_request, ctx) => settingsView(ctx),

  'settings.update': async (request, ctx) => {
    const saved = ctx.settings.update((s) => ({
      ...s,
      ...(request.stationName ? { stationName: request.stationName } : {}),
      ...(request.slotLabels ? { slotLabels: request.slotLabels } : {}),
      ...(request.lineDbEnv ? { lineDbEnv: request.lineDbEnv } : {}),
      ...(request.stationsSharingIp ? { stationsSharingIp: request.stationsSharingIp } : {}),
    }));
    if (saved.ok && request.lineDbEnv)
      ctx.log().recordAudit('engineer', 'line-db-env', null, { envName: request.lineDbEnv });
    if (saved.ok && request.stationsSharingIp)
      ctx.log().recordAudit('engineer', 'stations-sharing-ip', null, { stations: request.stationsSharingIp });
    if (!saved.ok) return saved;
    return settingsView(ctx);
  },

  'audit.list': async (request, ctx) => {
    try {
      return ok(
        ctx
          .log()
          .audit()
          .slice(-request.limit)
          .reverse()
          .map((a) => ({ ...a, details: { ...a.details } })),
      );
    } catch (e) {
      return { ok: false, error: toLsError(e) };
    }
  },
} satisfies Pick<Handlers, 'settings.get' | 'settings.update' | 'audit.list'>;

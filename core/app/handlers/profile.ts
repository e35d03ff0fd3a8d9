import { err, ok, type Result } from '../../errors/result';
import { type LoadedProfile, loadProfile } from '../../station/profile';
import { lockProfile } from '../../station/profile-lock';
import { checkReadiness, type ReadinessOptions } from '../../station/readiness';
import type { HandlerContext, Handlers } from '../context';
import { profileWithReadiness } from '../views';

const readinessOptions = (ctx: HandlerContext): ReadinessOptions => ({
  env: ctx.options.env ?? process.env,
  ...(ctx.options.releasedFirmwareCheck ? { releasedFirmwareCheck: ctx.options.releasedFirmwareCheck } : {}),
  ...(ctx.options.firmware ? { firmware: ctx.options.firmware } : {}),
  ...(ctx.options.now ? { now: ctx.options.now } : {}),
});

const NO_PROFILE = () =>
  err('NO_PROFILE', 'This station has no product profile loaded.', {
    remedy: 'Start linestation with --profile FILE, or have an engineer load a profile.',
  });

/** The named profile, or the station's current one; re-read every time so tampering shows at once. */
const loadTarget = async (ctx: HandlerContext, path: string | undefined): Promise<Result<LoadedProfile>> => {
  const target = path ? ctx.resolvePath(path) : ctx.state.profilePath;
  if (!target) return NO_PROFILE();
  return loadProfile(target);
};

export const profileHandlers = {
  'profile.current': async (_request, ctx) => {
    if (!ctx.state.profilePath) return ok(null);
    const loaded = await loadProfile(ctx.state.profilePath);
    if (!loaded.ok) return loaded;
    return ok(profileWithReadiness(loaded.value, await checkReadiness(loaded.value, readinessOptions(ctx))));
  },

  'profile.load': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    ctx.state.profilePath = loaded.value.path;
    const view = profileWithReadiness(
      loaded.value,
      await checkReadiness(loaded.value, readinessOptions(ctx)),
    );
    ctx.emit('profile.changed', view);
    return ok(view);
  },

  'profile.check': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    return ok((await checkReadiness(loaded.value, readinessOptions(ctx))).readiness);
  },

  'profile.lock': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    const locked = await lockProfile(loaded.value, { ...readinessOptions(ctx), relock: request.relock });
    if (!locked.ok) return locked;
    const view = profileWithReadiness(locked.value.loaded, locked.value.report);
    if (locked.value.loaded.path === ctx.state.profilePath) ctx.emit('profile.changed', view);
    return ok(view);
  },
} satisfies Pick<Handlers, 'profile.current' | 'profile.load' | 'profile.check' | 'profile.lock'>;

import { err, ok, type Result } from '../../errors/result';
import { type LoadedProfile, loadProfile, saveProfile } from '../../station/profile';
import { lockProfile } from '../../station/profile-lock';
import type { ProfileInput } from '../../station/profile-schema';
import { checkReadiness, type ReadinessOptions } from '../../station/readiness';
import { cloudReleasedFirmwareCheck } from '../../station/readiness-cloud';
import type { HandlerContext, Handlers } from '../context';
import { profileWithReadiness } from '../views';

/** An injected cloud check wins (tests, demo); otherwise the profile's own cloud is asked. */
const readinessOptions = (ctx: HandlerContext, loaded: LoadedProfile): ReadinessOptions => {
  const env = ctx.options.env ?? process.env;
  const releasedFirmwareCheck =
    ctx.options.releasedFirmwareCheck ?? cloudReleasedFirmwareCheck(loaded.profile, env);
  return {
    env,
    ...(releasedFirmwareCheck ? { releasedFirmwareCheck } : {}),
    ...(ctx.options.firmware ? { firmware: ctx.options.firmware } : {}),
    ...(ctx.options.now ? { now: ctx.options.now } : {}),
  };
};

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
    return ok(
      profileWithReadiness(
        loaded.value,
        await checkReadiness(loaded.value, readinessOptions(ctx, loaded.value)),
      ),
    );
  },

  'profile.load': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    ctx.state.profilePath = loaded.value.path;
    const view = profileWithReadiness(
      loaded.value,
      await checkReadiness(loaded.value, readinessOptions(ctx, loaded.value)),
    );
    ctx.emit('profile.changed', view);
    return ok(view);
  },

  'profile.check': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    return ok((await checkReadiness(loaded.value, readinessOptions(ctx, loaded.value))).readiness);
  },

  'profile.lock': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    const locked = await lockProfile(loaded.value, {
      ...readinessOptions(ctx, loaded.value),
      relock: request.relock,
    });
    if (!locked.ok) return locked;
    const view = profileWithReadiness(locked.value.loaded, locked.value.report);
    if (locked.value.loaded.path === ctx.state.profilePath) ctx.emit('profile.changed', view);
    return ok(view);
  },

  'profile.read': async (request, ctx) => {
    const loaded = await loadTarget(ctx, request.path);
    if (!loaded.ok) return loaded;
    return ok({ path: loaded.value.path, profile: { ...loaded.value.profile } });
  },

  'profile.save': async (request, ctx) => {
    // An edited profile is a new profile: the old lock no longer vouches for it, so it is
    // dropped and the engineer locks again once the checklist is green.
    const { lock: _lock, ...rest } = request.profile;
    const saved = await saveProfile(ctx.resolvePath(request.path), rest as ProfileInput);
    if (!saved.ok) return saved;
    ctx.state.profilePath = saved.value.path;
    const view = profileWithReadiness(
      saved.value,
      await checkReadiness(saved.value, readinessOptions(ctx, saved.value)),
    );
    ctx.emit('profile.changed', view);
    return ok(view);
  },
} satisfies Pick<
  Handlers,
  'profile.current' | 'profile.load' | 'profile.check' | 'profile.lock' | 'profile.read' | 'profile.save'
>;

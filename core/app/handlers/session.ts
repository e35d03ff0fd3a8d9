import { err, ok } from '../../errors/result';
import type { HandlerContext, Handlers } from '../context';
import { hashPin, verifyPin } from '../settings-store';

/** Wrong PINs in a row before the unlock is refused for a while: slows guessing at the keypad. */
const MAX_FAILURES = 5;
const LOCKOUT_MS = 30_000;
const failures = new WeakMap<object, { count: number; until: number }>();

const audit = (ctx: HandlerContext, actor: string, action: string, details: Record<string, unknown> = {}) => {
  try {
    ctx.log().recordAudit(actor, action, null, details);
  } catch {
    // Reported by the store on the next batch write; the PIN decision stands either way.
  }
};

export const sessionHandlers = {
  'session.get': async (_request, ctx) =>
    ok({
      role: ctx.session.role,
      version: ctx.options.version ?? '0.0.0-dev',
      engineerUnlockAvailable: true,
      pinSet: ctx.settings.read().pin !== undefined,
    }),

  'session.unlock': async (request, ctx) => {
    const stored = ctx.settings.read().pin;
    if (!stored)
      return err('PIN_NOT_SET', 'No engineer PIN has been set on this station yet.', {
        remedy: 'Choose a PIN in the engineer screen (first-time set-up).',
      });
    const now = (ctx.options.now ?? (() => new Date()))().getTime();
    const f = failures.get(ctx.session) ?? { count: 0, until: 0 };
    if (f.until > now)
      return err('PIN_LOCKED_OUT', 'Too many wrong PINs. Engineer unlock is paused for a moment.', {
        remedy: `Wait ${Math.ceil((f.until - now) / 1000)} seconds, then try again.`,
      });
    if (!(await verifyPin(request.pin, stored))) {
      f.count++;
      if (f.count >= MAX_FAILURES) {
        f.count = 0;
        f.until = now + LOCKOUT_MS;
      }
      failures.set(ctx.session, f);
      audit(ctx, 'operator', 'engineer-unlock-refused', {});
      return err('PIN_WRONG', 'That PIN is not right.', { remedy: 'Type the engineer PIN again.' });
    }
    failures.delete(ctx.session);
    ctx.session.grantEngineer('PIN');
    audit(ctx, 'engineer', 'engineer-unlock', {});
    return ok({ role: ctx.session.role });
  },

  'session.setPin': async (request, ctx) => {
    const existing = ctx.settings.read().pin;
    // Anyone may set the first PIN (a fresh station has none); changing it needs the old rights.
    if (existing && ctx.session.role !== 'engineer')
      return err('FORBIDDEN', 'Only an engineer may change the PIN.', {
        remedy: 'Unlock engineer mode with the current PIN first.',
      });
    const pin = await hashPin(request.pin);
    const saved = ctx.settings.update((s) => ({ ...s, pin }));
    if (!saved.ok) return saved;
    if (!existing) ctx.session.grantEngineer('first PIN set-up');
    audit(ctx, 'engineer', existing ? 'pin-changed' : 'pin-set', {});
    return ok({ role: ctx.session.role });
  },

  'session.lock': async (_request, ctx) => {
    if (ctx.session.role === 'engineer') audit(ctx, 'engineer', 'engineer-lock', {});
    ctx.session.dropToOperator();
    return ok({ role: ctx.session.role });
  },
} satisfies Pick<Handlers, 'session.get' | 'session.unlock' | 'session.setPin' | 'session.lock'>;

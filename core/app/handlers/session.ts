import { ok } from '../../errors/result';
import type { Handlers } from '../context';

export const sessionHandlers = {
  'session.get': async (_request, ctx) =>
    ok({
      role: ctx.session.role,
      version: ctx.options.version ?? '0.0.0-dev',
      engineerUnlockAvailable: false,
    }),
} satisfies Pick<Handlers, 'session.get'>;

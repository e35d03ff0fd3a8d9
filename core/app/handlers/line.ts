import type { LineView } from '../../contract/line';
import { ok } from '../../errors/result';
import { DEFAULT_LINE_DB_ENV, lineDbTargetFromEnv } from '../../line-db/config';
import { lineStatusLine } from '../../line-db/status';
import { testLineDb } from '../../line-db/test-connection';
import type { HandlerContext, Handlers } from '../context';

const envNameOf = (ctx: HandlerContext): string => ctx.settings.read().lineDbEnv ?? DEFAULT_LINE_DB_ENV;

/** What is configured now (the variable may have been set since the batch started). */
const configured = (ctx: HandlerContext) => {
  const envName = envNameOf(ctx);
  return { envName, target: lineDbTargetFromEnv(ctx.options.env ?? process.env, envName) };
};

export const lineHandlers = {
  'line.status': async (_request, ctx) => {
    const { envName, target } = configured(ctx);
    const status = ctx.line.lineStatus;
    const view: LineView = {
      envName,
      configured: !target.ok || target.value !== undefined,
      line: status
        ? lineStatusLine(status)
        : !target.ok
          ? `line database: ${target.error.code} (${target.error.message})`
          : target.value
            ? 'line database: configured; records are forwarded while a batch runs'
            : `line database: not configured ($${envName} is not set)`,
      ...(target.ok && target.value ? { target: target.value.display } : {}),
      ...(status
        ? {
            status: {
              ...status,
              error: status.error
                ? {
                    code: status.error.code,
                    message: status.error.message,
                    ...(status.error.remedy ? { remedy: status.error.remedy } : {}),
                  }
                : null,
              warnings: status.warnings.map((w) => ({
                code: w.code,
                message: w.message,
                ...(w.remedy ? { remedy: w.remedy } : {}),
              })),
              sameNameStations: [...status.sameNameStations],
            },
          }
        : {}),
    };
    return ok(view);
  },

  'line.test': async (_request, ctx) => {
    const { envName, target } = configured(ctx);
    if (!target.ok)
      return ok({
        ok: false,
        code: target.error.code,
        message: `${target.error.message} ${target.error.remedy ?? ''}`.trim(),
      });
    if (!target.value)
      return ok({
        ok: false,
        code: 'LINE_DB_NOT_CONFIGURED',
        message: `No line database: $${envName} is not set. Set it to postgres://USER:PASSWORD@HOST:5432/DATABASE in the station's environment (docs/line.md); the station works alone until then.`,
      });
    const r = await testLineDb(target.value);
    if (!r.ok)
      return ok({
        ok: false,
        code: r.error.code,
        message: `${r.error.message} ${r.error.remedy ?? ''}`.trim(),
      });
    return ok({ ok: true, message: r.value.message });
  },
} satisfies Pick<Handlers, 'line.status' | 'line.test'>;

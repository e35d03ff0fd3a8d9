import { err, ok } from '../../errors/result';
import type { Handlers } from '../context';

export const stationHandlers = {
  'station.state': async (_request, ctx) => ok(ctx.line.state()),

  'batch.start': async (request, ctx) => {
    // Starting is the operator's; overriding the checklist is an engineer decision, checked here
    // in the core (the method itself stays operator so a plain scan works).
    if (request.accept.length > 0 && ctx.session.role !== 'engineer')
      return err('FORBIDDEN', 'Accepting an open readiness item needs engineer rights.', {
        remedy: 'Ask an engineer to unlock the station and start the batch.',
        details: { accept: request.accept },
      });
    if (request.accept.length > 0)
      try {
        ctx
          .log()
          .recordAudit('engineer', 'batch.start-accept', null, { lot: request.lot, accept: request.accept });
      } catch {
        // The batch records its acceptances itself; this line is the engineer-side trace.
      }
    return ctx.line.start(ctx.state.profilePath, request.lot, request.operator, {
      offline: request.offline,
      accept: request.accept,
    });
  },

  'batch.stop': async (request, ctx) =>
    ok(
      await ctx.line.stop(
        'operator',
        request.close,
        request.close ? 'closed by the operator' : 'stopped by the operator',
      ),
    ),

  'label.scan': async (request, ctx) => ctx.line.scanLabel(request.serial, request.by),

  'usb.ports': async (_request, ctx) => {
    const ports = await ctx.line.ports();
    if (!ports.ok) return ports;
    const labels = ctx.settings.read().slotLabels;
    return ok(
      ports.value.map((p) => ({ ...p, ...(labels[p.portPath] ? { label: labels[p.portPath] } : {}) })),
    );
  },
} satisfies Pick<Handlers, 'station.state' | 'batch.start' | 'batch.stop' | 'label.scan' | 'usb.ports'>;

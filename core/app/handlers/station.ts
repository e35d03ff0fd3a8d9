import { ok } from '../../errors/result';
import type { Handlers } from '../context';

export const stationHandlers = {
  'station.state': async (_request, ctx) => ok(ctx.line.state()),

  'batch.start': async (request, ctx) => ctx.line.start(ctx.state.profilePath, request.lot, request.operator),

  'batch.stop': async (request, ctx) =>
    ok(
      await ctx.line.stop(
        'operator',
        request.close,
        request.close ? 'closed by the operator' : 'stopped by the operator',
      ),
    ),

  'label.scan': async (request, ctx) => ok({ pendingLabels: ctx.line.scanLabel(request.serial) }),

  'usb.ports': async (_request, ctx) => {
    const ports = await ctx.line.ports();
    if (!ports.ok) return ports;
    const labels = ctx.settings.read().slotLabels;
    return ok(
      ports.value.map((p) => ({ ...p, ...(labels[p.portPath] ? { label: labels[p.portPath] } : {}) })),
    );
  },
} satisfies Pick<Handlers, 'station.state' | 'batch.start' | 'batch.stop' | 'label.scan' | 'usb.ports'>;

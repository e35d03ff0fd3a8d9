import type { LabelJobView } from '../../contract/labels';
import { err, ok, type Result, toLsError } from '../../errors/result';
import {
  type LabelJob,
  type LabelTemplate,
  labelCounts,
  parseLabelTemplate,
  previewLabel,
  requestReprint,
  targetName,
  testLabelPrinter,
} from '../../labels/index';
import { labelJob } from '../../labels/job-store';
import { profileLabel } from '../../station/label-ops';
import type { HandlerContext, Handlers } from '../context';

/*
 * Labels in the desktop app: the batch view's label jobs and its audited reprint, "Print now",
 * and the engineer's live preview and printer test. Each handler calls one core operation.
 */

const jobView = (j: LabelJob, verified: 'verified' | 'mismatch' | null): LabelJobView => ({
  id: j.id,
  attemptId: j.attemptId,
  deviceId: j.deviceId,
  content: j.content,
  kind: j.kind,
  state: j.state,
  tries: j.tries,
  maybePrinted: j.maybePrinted,
  lastErrorCode: j.lastErrorCode,
  lastErrorMessage: j.lastErrorMessage,
  requestedBy: j.requestedBy,
  reason: j.reason,
  output: j.output,
  createdAt: j.createdAt,
  printedAt: j.printedAt,
  verified,
});

const verifiedOf = (ctx: HandlerContext, attemptId: number): 'verified' | 'mismatch' | null =>
  (
    ctx.log().db.prepare('SELECT label_verified AS v FROM attempts WHERE id = ?').get(attemptId) as
      | { v: 'verified' | 'mismatch' | null }
      | undefined
  )?.v ?? null;

/** A draft from the engineer's editor, or the current profile's template. */
const templateFor = async (
  ctx: HandlerContext,
  draft: Record<string, unknown> | undefined,
): Promise<Result<LabelTemplate>> => {
  if (draft) return parseLabelTemplate(draft);
  if (!ctx.state.profilePath)
    return err('NO_PROFILE', 'This station has no product profile loaded.', {
      remedy: 'Load a profile with a label template, or give a template to preview.',
    });
  const p = await profileLabel(ctx.state.profilePath);
  return p.ok ? ok(p.value.template) : p;
};

export const labelHandlers = {
  'label.jobs': async (request, ctx) => {
    try {
      const log = ctx.log();
      const batch = log.requireBatch(request.lot);
      const ids = log.db
        .prepare(
          `SELECT id FROM label_jobs WHERE batch_id = ? AND (? IS NULL OR state = ?) ORDER BY id DESC LIMIT ?`,
        )
        .all(batch.id, request.state ?? null, request.state ?? null, request.limit) as { id: number }[];
      const jobs = ids.flatMap((r) => {
        const j = labelJob(log.db, r.id);
        return j ? [jobView(j, verifiedOf(ctx, j.attemptId))] : [];
      });
      return ok({ counts: labelCounts(log.db, batch.id), jobs });
    } catch (e) {
      return { ok: false, error: toLsError(e) };
    }
  },

  'label.reprint': async (request, ctx) => {
    // The current template, when there is one, takes the key again: a label that failed on a
    // template mistake prints after the engineer's fix.
    const current = ctx.state.profilePath ? await profileLabel(ctx.state.profilePath) : undefined;
    const r = requestReprint(ctx.log().db, {
      attemptId: request.attemptId,
      actor: request.by,
      reason: request.reason,
      template: current?.ok ? current.value.template : undefined,
    });
    if (!r.ok) return r;
    return ok({
      job: jobView(r.value, verifiedOf(ctx, r.value.attemptId)),
      printsNow: ctx.line.printsLabels,
    });
  },

  'label.printNow': async (_request, ctx) => ctx.line.printLabelsNow(),

  'label.preview': async (request, ctx) => {
    const t = await templateFor(ctx, request.template);
    if (!t.ok) return t;
    const p = await previewLabel(t.value);
    if (!p.ok) return p;
    const { png, ...rest } = p.value;
    return ok({ ...rest, png: png.toString('base64') });
  },

  'label.testPrinter': async (request, ctx) => {
    const t = await templateFor(ctx, request.template);
    if (!t.ok) return t;
    const target = targetName(t.value.printer);
    const r = await testLabelPrinter(t.value.printer);
    // A printer that is not ready is an answer, not a failed call.
    return ok(
      r.ok
        ? { ok: true, target, message: r.value.message }
        : {
            ok: false,
            target,
            code: r.error.code,
            message: r.error.message,
            ...(r.error.remedy ? { remedy: r.error.remedy } : {}),
          },
    );
  },
} satisfies Pick<
  Handlers,
  'label.jobs' | 'label.reprint' | 'label.printNow' | 'label.preview' | 'label.testPrinter'
>;

import { z } from 'zod';

/*
 * What the shells see of printed labels (core/labels, wired in by core/station/labels.ts): a
 * slot's label, the station's label printer, label jobs for the batch view, the engineer's
 * preview and printer test.
 */

export const LABEL_JOB_STATES = ['pending', 'printed', 'failed'] as const;

/** A problem in the operator's words (the operator error table, where LABEL_ERRORS are merged). */
export const labelProblemSchema = z.object({
  code: z.string(),
  title: z.string(),
  remedy: z.string(),
  message: z.string(),
});
export type LabelProblem = z.infer<typeof labelProblemSchema>;

/** A PASS's label on its slot. */
export const slotLabelSchema = z.object({
  jobId: z.int(),
  /** pending: "PASS, label pending" (the printer's problem, if any, in `problem`). */
  state: z.enum(LABEL_JOB_STATES),
  /** The symbol's content: what the scan-back check expects. */
  content: z.string(),
  /** Why it waits (a printer problem) or why it cannot be made (failed). */
  problem: labelProblemSchema.optional(),
  /** A connection dropped after the label left: a spare may come out. */
  maybePrinted: z.boolean(),
  /** The scan-back check: absent until scanned. */
  verified: z.enum(['verified', 'mismatch']).optional(),
  /** A wrong label scanned against this one: what it said and what it should have said. */
  mismatch: z.object({ expected: z.string(), scanned: z.string() }).optional(),
});
export type SlotLabelView = z.infer<typeof slotLabelSchema>;

/** The running batch's label printer, while its profile prints labels. */
export const stationLabelsSchema = z.object({
  /** The scan box checks printed labels instead of pairing serials by hand. */
  scanBack: z.boolean(),
  /** Where labels go: host:port, the CUPS queue, or the folder. */
  target: z.string(),
  pending: z.int(),
  printed: z.int(),
  failed: z.int(),
  /** The printer's problem while labels wait for it. */
  problem: labelProblemSchema.optional(),
});
export type StationLabelsView = z.infer<typeof stationLabelsSchema>;

export const labelJobViewSchema = z.object({
  id: z.int(),
  attemptId: z.int(),
  deviceId: z.string(),
  content: z.string(),
  kind: z.enum(['print', 'reprint']),
  state: z.enum(LABEL_JOB_STATES),
  tries: z.int(),
  maybePrinted: z.boolean(),
  lastErrorCode: z.string().nullable(),
  lastErrorMessage: z.string().nullable(),
  requestedBy: z.string().nullable(),
  reason: z.string().nullable(),
  output: z.string().nullable(),
  createdAt: z.string(),
  printedAt: z.string().nullable(),
  verified: z.enum(['verified', 'mismatch']).nullable(),
});
export type LabelJobView = z.infer<typeof labelJobViewSchema>;

export const labelPreviewSchema = z.object({
  /** The label as its target makes it, base64 PNG (shown as a data: URL). */
  png: z.string(),
  zpl: z.string(),
  content: z.string(),
  /** zpl-renderer: Zebrash drew our ZPL; png: our own PNG (CUPS and file targets). */
  source: z.enum(['zpl-renderer', 'png']),
  widthMm: z.number(),
  heightMm: z.number(),
  dpi: z.int(),
});
export type LabelPreviewView = z.infer<typeof labelPreviewSchema>;

import { err, ok, type Result } from '../errors/result';
import {
  checkScannedLabel,
  type LabelCounts,
  type LabelJob,
  type LabelJobState,
  type LabelRecord,
  type LabelTemplate,
  type LabelVerification,
  labelCounts,
  listLabelJobs,
  type PrinterCheck,
  previewLabel,
  renderLabelPdf,
  renderZpl,
  SAMPLE_LABEL_RECORD,
  type ScanOutcome,
  testLabelPrinter,
} from '../labels/index';
import type { BatchRecord } from '../store/records';
import type { StationLog } from '../store/station-log';
import { type LoadedProfile, loadProfile } from './profile';

/**
 * The label operations the shells call outside a running batch (the `linestation labels`
 * commands, the engineer's preview and printer test, the batch view): one call each, so a CLI
 * command or an IPC handler parses, calls one of these and prints.
 */

export type LabelFileFormat = 'png' | 'pdf' | 'zpl';

/** A preview file's format from its name (`label.png`, `label.pdf`, `label.zpl`). */
export const labelFormatOf = (path: string): LabelFileFormat | undefined => {
  const m = /\.(png|pdf|zpl)$/i.exec(path);
  return m ? (m[1]?.toLowerCase() as LabelFileFormat) : undefined;
};

/** The profile's label template, or why there is none to use. */
export const profileLabel = async (
  profilePath: string,
): Promise<Result<{ loaded: LoadedProfile; template: LabelTemplate }>> => {
  const loaded = await loadProfile(profilePath);
  if (!loaded.ok) return loaded;
  const template = loaded.value.profile.label;
  if (!template)
    return err('LABEL_NOT_CONFIGURED', `The profile ${loaded.value.path} has no label template.`, {
      remedy: "Add a 'label' key to the profile (docs/labels.md) and lock it again.",
    });
  return ok({ loaded: loaded.value, template });
};

/**
 * One label as a file of the given format: the PNG the engineer's preview shows (Zebrash's
 * drawing of our ZPL for a ZPL printer), the PDF CUPS and label folders get, or the ZPL itself.
 */
export const renderLabelAs = async (
  template: LabelTemplate,
  format: LabelFileFormat,
  record: LabelRecord = SAMPLE_LABEL_RECORD,
): Promise<Result<{ bytes: Uint8Array; content: string }>> => {
  switch (format) {
    case 'png': {
      const r = await previewLabel(template, record);
      return r.ok ? ok({ bytes: r.value.png, content: r.value.content }) : r;
    }
    case 'pdf': {
      const r = await renderLabelPdf(template, record);
      return r.ok ? ok({ bytes: r.value.pdf, content: r.value.content }) : r;
    }
    case 'zpl': {
      const r = renderZpl(template, record);
      return r.ok ? ok({ bytes: Buffer.from(r.value.zpl, 'utf8'), content: r.value.content }) : r;
    }
  }
};

/** `linestation labels preview`: the profile's label with sample data. */
export const previewProfileLabel = async (
  profilePath: string,
  format: LabelFileFormat,
): Promise<Result<{ bytes: Uint8Array; content: string; profile: string }>> => {
  const p = await profileLabel(profilePath);
  if (!p.ok) return p;
  const r = await renderLabelAs(p.value.template, format);
  return r.ok ? ok({ ...r.value, profile: p.value.loaded.path }) : r;
};

/** `linestation labels test-printer`: asks the profile's printer whether it could print now. */
export const testProfilePrinter = async (profilePath: string): Promise<Result<PrinterCheck>> => {
  const p = await profileLabel(profilePath);
  if (!p.ok) return p;
  return testLabelPrinter(p.value.template.printer);
};

export interface LabelJobsReport {
  readonly batch: BatchRecord;
  readonly counts: LabelCounts;
  /** Each job with its attempt's scan-back outcome (null: not scanned). */
  readonly jobs: (LabelJob & { readonly verified: LabelVerification | null })[];
}

/** A batch's label jobs and their states (the newest batch when no lot is given). */
export const labelJobsReport = (
  log: StationLog,
  q: { readonly lot?: string | undefined; readonly state?: LabelJobState | undefined } = {},
): Result<LabelJobsReport> => {
  const batch = q.lot ? log.batch(q.lot) : log.batches().at(-1);
  if (!batch)
    return q.lot
      ? err('BATCH_NOT_FOUND', `There is no batch with lot ${q.lot} in this station's log.`, {
          remedy: 'List the batches with linestation batches.',
        })
      : err('BATCH_NOT_FOUND', "There is no batch in this station's log yet.");
  const verified = new Map(
    (
      log.db
        .prepare('SELECT id, label_verified FROM attempts WHERE batch_id = ? AND label_verified IS NOT NULL')
        .all(batch.id) as { id: number; label_verified: LabelVerification }[]
    ).map((r) => [r.id, r.label_verified]),
  );
  return ok({
    batch,
    counts: labelCounts(log.db, batch.id),
    jobs: listLabelJobs(log.db, { batchId: batch.id, ...(q.state ? { state: q.state } : {}) }).map((j) => ({
      ...j,
      verified: verified.get(j.attemptId) ?? null,
    })),
  });
};

/** `linestation labels verify`: a scanned label checked against the batch's printed ones. */
export const verifyLabelScan = (
  log: StationLog,
  q: { readonly lot: string; readonly scanned: string; readonly actor?: string | undefined },
): Result<ScanOutcome> => {
  const batch = log.batch(q.lot);
  if (!batch)
    return err('BATCH_NOT_FOUND', `There is no batch with lot ${q.lot} in this station's log.`, {
      remedy: 'List the batches with linestation batches.',
    });
  return checkScannedLabel(log.db, { batchId: batch.id, scanned: q.scanned, actor: q.actor });
};

import type { DatabaseSync } from 'node:sqlite';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import { inTransaction, type LabelVerification } from './job-store';

/**
 * The scan-back check: the operator scans the label just printed and stuck on, and the station
 * confirms it carries the key of the device that passed. A mismatch is recorded and returned as
 * LABEL_MISMATCH with both values, never swallowed: a wrong sticker on a device is the one label
 * fault a customer sees.
 */

/**
 * What a keyboard-wedge scanner typed, reduced to the symbol's data: surrounding whitespace and
 * the line ending go, and so does an AIM symbology identifier (`]d2` for Data Matrix, `]Q1` for
 * QR) that scanners add when configured to.
 */
export const normalizeScan = (scanned: string): string =>
  scanned
    // biome-ignore lint/suspicious/noControlCharactersInRegex: scanners end with CR/LF or send other control bytes
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .replace(/^\][A-Za-z][0-9A-Za-z]/, '')
    .trim();

export interface VerifiedLabel {
  readonly content: string;
}

/**
 * Compares a scan with the content that was printed. Case is ignored: a keyboard-wedge scanner
 * with Caps Lock on flips it, and device IDs and serials are the same key in either case.
 */
export const verifyScannedLabel = (
  expected: string,
  scanned: string,
): Result<VerifiedLabel, 'LABEL_MISMATCH' | 'LABEL_SCAN_EMPTY'> => {
  const got = normalizeScan(scanned);
  if (got === '') return labelErr('LABEL_SCAN_EMPTY', 'The scan was empty.');
  if (got.toLowerCase() !== expected.trim().toLowerCase())
    return labelErr(
      'LABEL_MISMATCH',
      `Wrong label: it says "${got}", and the device that passed is "${expected}".`,
      {
        details: { expected, scanned: got },
      },
    );
  return ok({ content: got });
};

/** Writes the check's outcome on the attempt, with an event holding both values. */
export const recordLabelVerification = (
  db: DatabaseSync,
  check: {
    readonly attemptId: number;
    readonly outcome: LabelVerification;
    readonly expected: string;
    readonly scanned: string;
    readonly actor?: string | undefined;
  },
  now: number = Date.now(),
): void => {
  const iso = new Date(now).toISOString();
  inTransaction(db, () => {
    const a = db.prepare('SELECT batch_id FROM attempts WHERE id = ?').get(check.attemptId) as
      | { batch_id: number }
      | undefined;
    if (!a) throw new Error(`No attempt ${check.attemptId}.`);
    db.prepare('UPDATE attempts SET label_verified = ? WHERE id = ?').run(check.outcome, check.attemptId);
    // The verified key is the label this device carries: the export's label_serial column.
    if (check.outcome === 'verified')
      db.prepare('UPDATE attempts SET label_serial = ? WHERE id = ?').run(check.scanned, check.attemptId);
    db.prepare('INSERT INTO events (batch_id, attempt_id, at, type, data) VALUES (?, ?, ?, ?, ?)').run(
      a.batch_id,
      check.attemptId,
      iso,
      check.outcome === 'verified' ? 'label-verified' : 'label-mismatch',
      JSON.stringify({
        expected: check.expected,
        scanned: check.scanned,
        ...(check.actor ? { by: check.actor } : {}),
      }),
    );
  });
};

export interface AwaitingScan {
  readonly attemptId: number;
  readonly deviceId: string;
  readonly content: string;
  readonly verified: LabelVerification | null;
}

/**
 * Labels in a batch that came out of the printer (or may have) and whose scan is still owed or
 * was wrong, in the order they printed: the first is the one the operator most likely holds.
 */
export const labelsAwaitingScan = (db: DatabaseSync, batchId: number): AwaitingScan[] =>
  (
    db
      .prepare(
        `SELECT j.attempt_id AS attempt_id, j.device_id AS device_id, j.content AS content,
                a.label_verified AS verified, MIN(COALESCE(j.printed_at, j.updated_at)) AS at
           FROM label_jobs j JOIN attempts a ON a.id = j.attempt_id
          WHERE j.batch_id = ? AND j.content <> ''
            AND (j.state = 'printed' OR (j.state = 'pending' AND j.maybe_printed = 1))
            AND (a.label_verified IS NULL OR a.label_verified = 'mismatch')
          GROUP BY j.attempt_id
          ORDER BY at, j.attempt_id`,
      )
      .all(batchId) as {
      attempt_id: number;
      device_id: string;
      content: string;
      verified: LabelVerification | null;
    }[]
  ).map((r) => ({
    attemptId: r.attempt_id,
    deviceId: r.device_id,
    content: r.content,
    verified: r.verified,
  }));

export interface ScanOutcome {
  readonly attemptId: number;
  readonly deviceId: string;
  readonly content: string;
  /** The label had been verified before: the operator scanned it twice. */
  readonly alreadyVerified: boolean;
}

/**
 * The station's scan box with a printer configured: a scan verifies whichever printed label of
 * the batch it matches. One that matches none is a mismatch against the oldest label still owed
 * a scan (the one the operator most likely holds), recorded, and returned as LABEL_MISMATCH.
 */
export const checkScannedLabel = (
  db: DatabaseSync,
  scan: { readonly batchId: number; readonly scanned: string; readonly actor?: string | undefined },
  now: number = Date.now(),
): Result<ScanOutcome, LabelErrorCode> => {
  const got = normalizeScan(scan.scanned);
  if (got === '') return labelErr('LABEL_SCAN_EMPTY', 'The scan was empty.');
  const matches = db
    .prepare(
      `SELECT j.attempt_id AS attempt_id, j.device_id AS device_id, j.content AS content,
              a.label_verified AS verified
         FROM label_jobs j JOIN attempts a ON a.id = j.attempt_id
        WHERE j.batch_id = ? AND lower(j.content) = lower(?)
          AND (j.state = 'printed' OR (j.state = 'pending' AND j.maybe_printed = 1))
        ORDER BY j.id DESC LIMIT 1`,
    )
    .get(scan.batchId, got) as
    | { attempt_id: number; device_id: string; content: string; verified: LabelVerification | null }
    | undefined;
  if (matches) {
    const alreadyVerified = matches.verified === 'verified';
    if (!alreadyVerified)
      recordLabelVerification(
        db,
        {
          attemptId: matches.attempt_id,
          outcome: 'verified',
          expected: matches.content,
          scanned: got,
          actor: scan.actor,
        },
        now,
      );
    return ok({
      attemptId: matches.attempt_id,
      deviceId: matches.device_id,
      content: matches.content,
      alreadyVerified,
    });
  }
  const owed = labelsAwaitingScan(db, scan.batchId)[0];
  if (!owed)
    return labelErr(
      'LABEL_NOTHING_TO_VERIFY',
      `"${got}" matches no printed label of this batch, and no label is waiting for a scan.`,
      {
        details: { scanned: got },
      },
    );
  recordLabelVerification(
    db,
    {
      attemptId: owed.attemptId,
      outcome: 'mismatch',
      expected: owed.content,
      scanned: got,
      actor: scan.actor,
    },
    now,
  );
  return labelErr(
    'LABEL_MISMATCH',
    `Wrong label: it says "${got}", and the device that passed is "${owed.content}".`,
    {
      details: { expected: owed.content, scanned: got, attemptId: owed.attemptId, deviceId: owed.deviceId },
    },
  );
};

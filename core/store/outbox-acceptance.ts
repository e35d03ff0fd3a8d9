import type { DatabaseSync } from 'node:sqlite';

/**
 * An engineer's explicit acceptance of a readiness check the station could not settle (for
 * example "is there a released default firmware?" while the cloud was unreachable). Kept in the
 * outbox's own table until the station's audit log can take it; `acceptanceRecorder` adapts it
 * to any recorder callback.
 */
export interface CloudAcceptance {
  readonly id: number;
  readonly productId: string;
  readonly checkName: string;
  readonly checkResult: string;
  readonly acceptedBy: string;
  readonly reason: string | null;
  readonly context: Readonly<Record<string, unknown>> | null;
  readonly acceptedAt: string;
}

export interface AcceptanceInput {
  readonly productId: string | number;
  /** e.g. 'released-firmware'. */
  readonly checkName: string;
  /** What the check returned, e.g. 'unknown'. */
  readonly checkResult: string;
  readonly acceptedBy: string;
  readonly reason?: string;
  readonly context?: Record<string, unknown>;
}

export const recordCloudAcceptance = (
  db: DatabaseSync,
  input: AcceptanceInput,
  now: number = Date.now(),
): CloudAcceptance => {
  const acceptedAt = new Date(now).toISOString();
  const r = db
    .prepare(`
      INSERT INTO cloud_acceptance (product_id, check_name, check_result, accepted_by, reason, context, accepted_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(
      String(input.productId),
      input.checkName,
      input.checkResult,
      input.acceptedBy,
      input.reason ?? null,
      input.context ? JSON.stringify(input.context) : null,
      acceptedAt,
    );
  return {
    id: Number(r.lastInsertRowid),
    productId: String(input.productId),
    checkName: input.checkName,
    checkResult: input.checkResult,
    acceptedBy: input.acceptedBy,
    reason: input.reason ?? null,
    context: input.context ?? null,
    acceptedAt,
  };
};

export const listCloudAcceptances = (db: DatabaseSync, productId?: string | number): CloudAcceptance[] =>
  (
    db
      .prepare('SELECT * FROM cloud_acceptance WHERE (? IS NULL OR product_id = ?) ORDER BY id')
      .all(
        productId === undefined ? null : String(productId),
        productId === undefined ? null : String(productId),
      ) as {
      id: number;
      product_id: string;
      check_name: string;
      check_result: string;
      accepted_by: string;
      reason: string | null;
      context: string | null;
      accepted_at: string;
    }[]
  ).map((r) => ({
    id: r.id,
    productId: r.product_id,
    checkName: r.check_name,
    checkResult: r.check_result,
    acceptedBy: r.accepted_by,
    reason: r.reason,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    acceptedAt: r.accepted_at,
  }));

/** A recorder callback (the shape a readiness checklist can accept) writing to this table. */
export const acceptanceRecorder =
  (db: DatabaseSync) =>
  (input: AcceptanceInput): CloudAcceptance =>
    recordCloudAcceptance(db, input);

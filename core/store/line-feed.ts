import type { DatabaseSync } from 'node:sqlite';
import { transaction } from './database';

/*
 * The local side of store-and-forward to the line database: the change feed the triggers of
 * migration `line-feed-1` fill, in the same transaction as each change. The forwarder
 * (core/line-db) reads it in order and acknowledges what the line database committed.
 */

export type LineFeedKind = 'batch' | 'attempt' | 'audit' | 'registration';

export interface LineFeedEntry {
  readonly seq: number;
  readonly kind: LineFeedKind;
  readonly rowId: number;
}

export interface LineFeedState {
  readonly enabled: boolean;
  /** Every change up to here is in the line database. */
  readonly ackedSeq: number;
  /** The newest change in the feed (== ackedSeq when nothing is waiting). */
  readonly lastSeq: number;
  /** Changes committed here and not yet in the line database. */
  readonly behind: number;
  readonly ackedAt: string | null;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v ?? 0));

/**
 * Turns the feed on, queueing every row the log already holds (the line database gets the
 * station's whole history, not only what happens after it was configured). Idempotent.
 * Returns the number of rows queued by this call.
 */
export const enableLineFeed = (db: DatabaseSync, now: () => Date = () => new Date()): number =>
  transaction(db, () => {
    const st = db.prepare('SELECT enabled FROM line_feed_state WHERE id = 1').get() as
      | { enabled: number }
      | undefined;
    if (st && num(st.enabled) === 1) return 0;
    db.prepare('UPDATE line_feed_state SET enabled = 1, enabled_at = ? WHERE id = 1').run(
      now().toISOString(),
    );
    let queued = 0;
    for (const [kind, table] of [
      ['batch', 'batches'],
      ['attempt', 'attempts'],
      ['registration', 'outbox'],
      ['audit', 'audit_log'],
    ] as const)
      queued += num(
        db.prepare(`INSERT INTO line_feed (kind, row_id) SELECT ?, id FROM ${table} ORDER BY id`).run(kind)
          .changes,
      );
    return queued;
  });

/** O(1): sequence numbers are consecutive (AUTOINCREMENT; a rolled-back change takes none). */
export const lineFeedState = (db: DatabaseSync): LineFeedState => {
  const st = db.prepare('SELECT enabled, acked_seq, acked_at FROM line_feed_state WHERE id = 1').get() as
    | { enabled: number; acked_seq: number; acked_at: string | null }
    | undefined;
  const last = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'line_feed'").get() as
    | { seq: number }
    | undefined;
  const ackedSeq = num(st?.acked_seq);
  const lastSeq = Math.max(ackedSeq, num(last?.seq));
  return {
    enabled: num(st?.enabled) === 1,
    ackedSeq,
    lastSeq,
    behind: lastSeq - ackedSeq,
    ackedAt: st?.acked_at ?? null,
  };
};

/** The oldest changes not yet acknowledged, in the station's order. */
export const readLineFeed = (db: DatabaseSync, limit: number): LineFeedEntry[] =>
  (
    db
      .prepare(
        'SELECT seq, kind, row_id FROM line_feed WHERE seq > (SELECT acked_seq FROM line_feed_state WHERE id = 1) ORDER BY seq LIMIT ?',
      )
      .all(limit) as { seq: number; kind: LineFeedKind; row_id: number }[]
  ).map((r) => ({ seq: num(r.seq), kind: r.kind, rowId: num(r.row_id) }));

/**
 * Records that the line database committed every change up to `seq`, and drops those entries.
 * Never moves backwards: a slow acknowledgement from an older pass cannot undo a newer one.
 */
export const ackLineFeed = (db: DatabaseSync, seq: number, now: () => Date = () => new Date()): void => {
  transaction(db, () => {
    db.prepare('UPDATE line_feed_state SET acked_seq = MAX(acked_seq, ?), acked_at = ? WHERE id = 1').run(
      seq,
      now().toISOString(),
    );
    db.prepare('DELETE FROM line_feed WHERE seq <= ?').run(seq);
  });
};

import type { Migration } from './types';

/**
 * Printed labels (core/labels). `label_jobs` is the durable print queue: one 'print' job per
 * PASS attempt (a unique index makes queueing it again a no-op), and one 'reprint' job per
 * operator request, each audited. A job stays 'pending' through every printer problem and is
 * 'printed' once the printer confirmed it (or CUPS took it, or the file was written); 'failed'
 * only when the label itself cannot be made (template or content), which no retry fixes.
 * `maybe_printed` marks a job whose connection was lost after the label left the station, so a
 * spare label may come out. `attempts.label_verified` holds the scan-back check's outcome:
 * NULL (not scanned), 'verified' or 'mismatch'.
 */
export const labelsV1: Migration = {
  name: 'labels-1',
  up(db) {
    db.exec(`
      CREATE TABLE label_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        device_id TEXT NOT NULL,
        content TEXT NOT NULL,
        record TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('print', 'reprint')),
        reprint_of INTEGER REFERENCES label_jobs(id),
        requested_by TEXT,
        reason TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'printed', 'failed')),
        tries INTEGER NOT NULL DEFAULT 0,
        next_try_at INTEGER NOT NULL DEFAULT 0,
        maybe_printed INTEGER NOT NULL DEFAULT 0,
        last_error_code TEXT,
        last_error_message TEXT,
        output TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        printed_at TEXT
      );
      CREATE UNIQUE INDEX label_jobs_one_print_per_attempt ON label_jobs (attempt_id) WHERE kind = 'print';
      CREATE INDEX label_jobs_due ON label_jobs (state, next_try_at);
      CREATE INDEX label_jobs_by_batch ON label_jobs (batch_id, id);
      CREATE INDEX label_jobs_by_attempt ON label_jobs (attempt_id, id);
      ALTER TABLE attempts ADD COLUMN label_verified TEXT
        CHECK (label_verified IS NULL OR label_verified IN ('verified', 'mismatch'));
    `);
  },
};

/**
 * The export's `label_state` is read live from `label_jobs` (like `registration_state` from the
 * outbox), and the line database holds every export column: a label job queued, or one whose
 * state changes (printed, failed), queues its attempt in the line feed, in the same transaction.
 * Retries that only move `tries` and `next_try_at` are not worth a line row each.
 */
export const labelsV2LineFeed: Migration = {
  name: 'labels-2-line-feed',
  up(db) {
    db.exec(`
      CREATE TRIGGER line_feed_label_insert AFTER INSERT ON label_jobs
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('attempt', NEW.attempt_id); END;
      CREATE TRIGGER line_feed_label_update AFTER UPDATE ON label_jobs
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1 AND OLD.state IS NOT NEW.state
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('attempt', NEW.attempt_id); END;
    `);
  },
};

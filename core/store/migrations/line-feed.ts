import type { Migration } from './types';

/**
 * What the line-database check at identify found or why it was skipped ('ok', 'skipped:
 * unreachable', 'passed at B-3 …'); NULL when the station has no line database.
 */
export const stationLogV3LineCheck: Migration = {
  name: 'station-log-v3-line-check',
  up(db) {
    db.exec('ALTER TABLE attempts ADD COLUMN line_check TEXT');
  },
};

/**
 * The local change feed the line-database forwarder reads. Triggers append one entry per
 * committed change of a batch, an attempt, an audit entry or an outbox entry, inside the
 * transaction that made the change, so no write path can forget to feed it and a rolled-back
 * write never appears in it. The forwarder sends the rows the entries point at (as they are
 * now), then deletes the entries up to what the line database committed. The triggers do
 * nothing until a line database is first configured (`enabled`): a station that never has one
 * keeps no feed, and enabling it queues every row already in the log.
 *
 * An outbox entry whose state changes also re-queues the device's PASS attempts, because the
 * export's `registration_state` of a PASS is read live from the outbox, and the line database
 * holds every export column.
 */
export const lineFeedV1: Migration = {
  name: 'line-feed-1',
  up(db) {
    db.exec(`
      CREATE TABLE line_feed (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('batch', 'attempt', 'audit', 'registration')),
        row_id INTEGER NOT NULL
      );
      CREATE TABLE line_feed_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        enabled INTEGER NOT NULL DEFAULT 0,
        acked_seq INTEGER NOT NULL DEFAULT 0,
        enabled_at TEXT,
        acked_at TEXT
      );
      INSERT INTO line_feed_state (id) VALUES (1);

      CREATE TRIGGER line_feed_batch_insert AFTER INSERT ON batches
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('batch', NEW.id); END;
      CREATE TRIGGER line_feed_batch_update AFTER UPDATE ON batches
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('batch', NEW.id); END;

      CREATE TRIGGER line_feed_attempt_insert AFTER INSERT ON attempts
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('attempt', NEW.id); END;
      CREATE TRIGGER line_feed_attempt_update AFTER UPDATE ON attempts
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('attempt', NEW.id); END;

      CREATE TRIGGER line_feed_audit_insert AFTER INSERT ON audit_log
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('audit', NEW.id); END;
      CREATE TRIGGER line_feed_audit_update AFTER UPDATE ON audit_log
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN INSERT INTO line_feed (kind, row_id) VALUES ('audit', NEW.id); END;

      CREATE TRIGGER line_feed_registration_insert AFTER INSERT ON outbox
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
        BEGIN
          INSERT INTO line_feed (kind, row_id) VALUES ('registration', NEW.id);
          INSERT INTO line_feed (kind, row_id)
            SELECT 'attempt', a.id FROM batches b JOIN attempts a ON a.batch_id = b.id
             WHERE b.product = NEW.product_id AND a.device_id = NEW.device_id AND a.result = 'pass';
        END;
      -- Retries only move attempts and next_attempt_at: not worth a line row each.
      CREATE TRIGGER line_feed_registration_update AFTER UPDATE ON outbox
        WHEN (SELECT enabled FROM line_feed_state WHERE id = 1) = 1
          AND (OLD.state IS NOT NEW.state OR OLD.outcome IS NOT NEW.outcome
               OR OLD.last_error_code IS NOT NEW.last_error_code OR OLD.payload IS NOT NEW.payload)
        BEGIN
          INSERT INTO line_feed (kind, row_id) VALUES ('registration', NEW.id);
          INSERT INTO line_feed (kind, row_id)
            SELECT 'attempt', a.id FROM batches b JOIN attempts a ON a.batch_id = b.id
             WHERE b.product = NEW.product_id AND a.device_id = NEW.device_id AND a.result = 'pass';
        END;
    `);
  },
};

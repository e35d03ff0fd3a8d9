import type { Migration } from './types';

/**
 * The station's durable batch log: batches, one row per attempt (with per-step timings as
 * columns so statistics and exports are plain SQL), lifecycle/step events, and the audit log of
 * engineer actions. The registration outbox is the cloud's own migration.
 */
export const stationLogV1: Migration = {
  name: 'station-log-v1',
  up(db) {
    db.exec(`
      CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        lot TEXT NOT NULL UNIQUE,
        product TEXT NOT NULL,
        platform TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        profile_hash TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('flash-on-line', 'ota-on-setup')),
        firmware TEXT NOT NULL DEFAULT '[]',
        operator TEXT NOT NULL,
        station TEXT NOT NULL,
        target_count INTEGER,
        offline INTEGER NOT NULL DEFAULT 0,
        acceptances TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'closed')),
        started_at TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        device_id TEXT,
        platform TEXT,
        slot INTEGER NOT NULL,
        port_path TEXT NOT NULL,
        label_serial TEXT,
        try_number INTEGER NOT NULL DEFAULT 1,
        result TEXT NOT NULL CHECK (result IN ('running', 'pass', 'fail', 'interrupted', 'skipped')),
        step TEXT,
        error_code TEXT,
        error_message TEXT,
        error_remedy TEXT,
        already_provisioned INTEGER NOT NULL DEFAULT 0,
        module_versions TEXT,
        registration_state TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms INTEGER,
        identify_ms INTEGER,
        ensure_dfu_ms INTEGER,
        flash_ms INTEGER,
        leave_ms INTEGER,
        confirm_ms INTEGER,
        register_ms INTEGER
      );
      CREATE INDEX attempts_by_batch ON attempts (batch_id, id);
      CREATE INDEX attempts_by_device ON attempts (batch_id, device_id);
      CREATE INDEX attempts_running ON attempts (result) WHERE result = 'running';
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER REFERENCES batches(id),
        attempt_id INTEGER REFERENCES attempts(id),
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_by_batch ON events (batch_id, id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        batch_id INTEGER REFERENCES batches(id),
        details TEXT NOT NULL DEFAULT '{}'
      );
    `);
  },
};

/**
 * The whole Device OS set: the normal-mode update and setup-done steps get their own duration
 * columns, each module's path and outcome is kept (`module_steps`, JSON), and so is what the
 * setup-done step did (`setup_done`).
 */
export const stationLogV2: Migration = {
  name: 'station-log-v2-device-os-set',
  up(db) {
    db.exec(`
      ALTER TABLE attempts ADD COLUMN normal_update_ms INTEGER;
      ALTER TABLE attempts ADD COLUMN setup_done_ms INTEGER;
      ALTER TABLE attempts ADD COLUMN setup_done TEXT;
      ALTER TABLE attempts ADD COLUMN module_steps TEXT NOT NULL DEFAULT '[]';
    `);
  },
};

/** Lifting Device Protection for the install (Service Mode) and putting it back is its own timed step. */
export const stationLogV4: Migration = {
  name: 'station-log-v4-service-mode',
  up(db) {
    db.exec('ALTER TABLE attempts ADD COLUMN service_mode_ms INTEGER');
  },
};

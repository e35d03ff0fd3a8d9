import type pg from 'pg';
import { type LineDbError, lineDbError } from './errors';

/** Everything lives in one PostgreSQL schema, so the line database can share a server. */
export const LINE_SCHEMA = 'linestation';

/** Every forwarded batch is announced on this channel (`LISTEN linestation`), payload: LineNotice JSON. */
export const LINE_NOTIFY_CHANNEL = 'linestation';

/**
 * A named schema step of the line database, like the station's SQLite migrations: names, not
 * numbers, and never edited once shipped. A station refuses to forward into a database holding
 * a step it does not know (a newer station migrated it), because its rows could then be wrong.
 */
export interface LineMigration {
  readonly name: string;
  readonly sql: string;
}

const S = LINE_SCHEMA;

const line1: LineMigration = {
  name: 'line-1',
  sql: `
    CREATE TABLE ${S}.stations (
      station_id uuid PRIMARY KEY,
      name text NOT NULL,
      hostname text,
      app_version text,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      station_clock_at timestamptz,
      clock_skew_ms bigint,
      forwarded_seq bigint NOT NULL DEFAULT 0,
      behind bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX stations_by_name ON ${S}.stations (name);

    CREATE TABLE ${S}.batches (
      station_id uuid NOT NULL,
      batch_id bigint NOT NULL,
      seq bigint NOT NULL,
      lot text NOT NULL,
      product text NOT NULL,
      platform text,
      profile_name text,
      profile_hash text,
      mode text,
      firmware jsonb,
      operator text,
      station text,
      target_count integer,
      offline boolean,
      acceptances jsonb,
      state text,
      started_at timestamptz,
      ended_at timestamptz,
      forwarded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (station_id, batch_id)
    );
    CREATE INDEX batches_by_lot ON ${S}.batches (lot);

    CREATE TABLE ${S}.attempts (
      station_id uuid NOT NULL,
      attempt_id bigint NOT NULL,
      seq bigint NOT NULL,
      batch_id bigint NOT NULL,
      lot text NOT NULL,
      product text,
      device_id text,
      platform text,
      slot integer,
      port_path text,
      label_serial text,
      try_number integer,
      operator text,
      station text,
      mode text,
      profile_hash text,
      module_hashes text,
      result text NOT NULL,
      already_provisioned boolean,
      step text,
      error_code text,
      error_message text,
      error_remedy text,
      started_at timestamptz,
      finished_at timestamptz,
      duration_ms bigint,
      identify_ms integer,
      ensure_dfu_ms integer,
      flash_ms integer,
      leave_ms integer,
      confirm_ms integer,
      register_ms integer,
      registration_state text,
      normal_update_ms integer,
      setup_done_ms integer,
      setup_done text,
      module_steps text,
      module_versions jsonb,
      line_check text,
      forwarded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (station_id, attempt_id)
    );
    CREATE INDEX attempts_by_device ON ${S}.attempts (device_id, started_at DESC);
    CREATE INDEX attempts_by_lot ON ${S}.attempts (lot, result);
    CREATE INDEX attempts_by_forwarded ON ${S}.attempts (forwarded_at);

    CREATE TABLE ${S}.registrations (
      station_id uuid NOT NULL,
      registration_id bigint NOT NULL,
      seq bigint NOT NULL,
      product_id text NOT NULL,
      device_id text NOT NULL,
      action text NOT NULL,
      settings jsonb,
      state text NOT NULL,
      outcome text,
      attempts integer,
      last_error_code text,
      last_error_message text,
      created_at timestamptz,
      updated_at timestamptz,
      done_at timestamptz,
      forwarded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (station_id, registration_id)
    );
    CREATE INDEX registrations_by_device ON ${S}.registrations (device_id, product_id);

    CREATE TABLE ${S}.audit_log (
      station_id uuid NOT NULL,
      audit_id bigint NOT NULL,
      seq bigint NOT NULL,
      at timestamptz NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      batch_id bigint,
      lot text,
      details jsonb,
      forwarded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (station_id, audit_id)
    );

    -- One row per device ID being provisioned somewhere on the line right now: two stations
    -- that read the same ID (duplicate serials) cannot both hold it. A lease, so a station
    -- that died holding one does not block the device for ever.
    CREATE TABLE ${S}.device_claims (
      device_id text PRIMARY KEY,
      station_id uuid NOT NULL,
      station_name text NOT NULL,
      attempt_key text NOT NULL,
      lot text,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      lease_until timestamptz NOT NULL
    );

    -- Step durations one row per step, for percentiles across the line.
    CREATE VIEW ${S}.step_durations AS
      SELECT a.station_id, a.attempt_id, a.lot, a.device_id, a.result, s.step, s.ms
        FROM ${S}.attempts a
        CROSS JOIN LATERAL (VALUES
          ('identify', a.identify_ms), ('normal-update', a.normal_update_ms),
          ('ensure-dfu', a.ensure_dfu_ms), ('flash', a.flash_ms), ('leave', a.leave_ms),
          ('confirm', a.confirm_ms), ('setup-done', a.setup_done_ms), ('register', a.register_ms)
        ) AS s(step, ms)
       WHERE s.ms IS NOT NULL;
  `,
};

/**
 * Service Mode (lifting Device Protection for the install) is its own timed step with its own
 * export column. Every new export column comes to the line database this way: a step here, the
 * column in rows.ts (a test compares the two lists).
 */
const line2: LineMigration = {
  name: 'line-2-service-mode',
  sql: `
    ALTER TABLE ${S}.attempts ADD COLUMN service_mode_ms integer;
    CREATE OR REPLACE VIEW ${S}.step_durations AS
      SELECT a.station_id, a.attempt_id, a.lot, a.device_id, a.result, s.step, s.ms
        FROM ${S}.attempts a
        CROSS JOIN LATERAL (VALUES
          ('identify', a.identify_ms), ('normal-update', a.normal_update_ms),
          ('ensure-dfu', a.ensure_dfu_ms), ('flash', a.flash_ms), ('leave', a.leave_ms),
          ('confirm', a.confirm_ms), ('setup-done', a.setup_done_ms), ('register', a.register_ms),
          ('service-mode', a.service_mode_ms)
        ) AS s(step, ms)
       WHERE s.ms IS NOT NULL;
  `,
};

/** The printed label's export columns: the scan-back check and the newest label job's state. */
const line3: LineMigration = {
  name: 'line-3-labels',
  sql: `
    ALTER TABLE ${S}.attempts ADD COLUMN label_verified text;
    ALTER TABLE ${S}.attempts ADD COLUMN label_state text;
  `,
};

/**
 * What identify reads besides the device ID: sticker serial number, ICCID and IMEI (cellular),
 * the Device OS version. Indexed by serial and ICCID, the keys a supervisor looks a unit up by.
 */
const line4: LineMigration = {
  name: 'line-4-identity',
  sql: `
    ALTER TABLE ${S}.attempts ADD COLUMN serial_number text;
    ALTER TABLE ${S}.attempts ADD COLUMN iccid text;
    ALTER TABLE ${S}.attempts ADD COLUMN imei text;
    ALTER TABLE ${S}.attempts ADD COLUMN device_os text;
    CREATE INDEX attempts_by_serial ON ${S}.attempts (serial_number) WHERE serial_number IS NOT NULL;
    CREATE INDEX attempts_by_iccid ON ${S}.attempts (iccid) WHERE iccid IS NOT NULL;
  `,
};

/**
 * For the supervisor view (core/supervisor): the unit lookup by a printed label serial, and each
 * unit's first attempt in its lot (first-pass yield across stations) read in index order.
 */
const line5: LineMigration = {
  name: 'line-5-supervisor',
  sql: `
    CREATE INDEX attempts_by_label ON ${S}.attempts (label_serial) WHERE label_serial IS NOT NULL;
    CREATE INDEX attempts_by_lot_device ON ${S}.attempts (lot, device_id, started_at);
  `,
};

/** Every step this station knows, in order. Append; never edit a shipped one. */
export const LINE_MIGRATIONS: readonly LineMigration[] = [line1, line2, line3, line4, line5];

const LOCK_KEY = 0x6c696e65; // 'line': one schema change at a time, however many stations start together

/** The step names the database holds, or [] when the schema is not there yet. */
export const appliedLineMigrations = async (client: pg.ClientBase): Promise<string[]> => {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('${S}.schema_migrations')::text AS t`,
  );
  if (!exists.rows[0]?.t) return [];
  const r = await client.query<{ name: string }>(
    `SELECT name FROM ${S}.schema_migrations ORDER BY applied_at, name`,
  );
  return r.rows.map((x) => x.name);
};

/** LINE_DB_SCHEMA_NEWER when the database holds a step this station does not know. */
export const newerSchemaError = (
  applied: readonly string[],
  known: readonly LineMigration[] = LINE_MIGRATIONS,
): LineDbError | undefined => {
  const names = new Set(known.map((m) => m.name));
  const unknown = applied.filter((n) => !names.has(n));
  if (unknown.length === 0) return undefined;
  return lineDbError(
    'LINE_DB_SCHEMA_NEWER',
    `The line database has schema steps this station does not know (${unknown.join(', ')}): a newer linestation set it up. This station does not forward into it, so its rows cannot be written in an outdated shape.`,
    { unknown, known: [...names] },
  );
};

/**
 * Brings the line database's schema up to this station's steps, in one transaction under an
 * advisory lock (sixteen stations starting at once apply each step once). Refuses, without
 * changing anything, a database that is newer than this station.
 */
export const migrateLineDb = async (
  client: pg.ClientBase,
  known: readonly LineMigration[] = LINE_MIGRATIONS,
  by?: string,
): Promise<{ applied: string[] }> => {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    let have = await appliedLineMigrations(client);
    const newer = newerSchemaError(have, known);
    if (newer) throw newer;
    const missing = known.filter((m) => !have.includes(m.name));
    if (missing.length === 0) {
      await client.query('COMMIT');
      return { applied: [] };
    }
    if (have.length === 0) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${S}.schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp(), applied_by text)`,
      );
      have = await appliedLineMigrations(client);
    }
    for (const m of missing) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${S}.schema_migrations (name, applied_by) VALUES ($1, $2)`, [
        m.name,
        by ?? null,
      ]);
    }
    await client.query('COMMIT');
    return { applied: missing.map((m) => m.name) };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
};

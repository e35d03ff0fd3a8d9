import pg from 'pg';
import { ok, type Result } from '../errors/result';
import type { LineDbTarget } from './config';
import { diagnoseConnectFailure } from './connection';
import { classifyLineError, type LineDbErrorCode, lineDbError } from './errors';
import { appliedLineMigrations, LINE_MIGRATIONS, LINE_SCHEMA, newerSchemaError } from './schema';

export interface LineDbCheckReport {
  readonly target: string;
  readonly serverVersion: string;
  /** `absent`: the first station to forward creates it; `older`: it will be brought up to date. */
  readonly schema: 'absent' | 'current' | 'older';
  /** One sentence for the engineer's screen. */
  readonly message: string;
}

/**
 * The engineer's "test connection": connects once with the station's settings and checks what
 * forwarding will need — PostgreSQL, the login, a writable primary, a schema this station knows
 * (or the right to create it). Every failure is a named LINE_DB_* error, credentials redacted.
 */
export const testLineDb = async (
  target: LineDbTarget,
  options: { timeoutMs?: number } = {},
): Promise<Result<LineDbCheckReport, LineDbErrorCode>> => {
  const timeoutMs = options.timeoutMs ?? 5000;
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'linestation connection test',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return { ok: false, error: await diagnoseConnectFailure(e, target.url) };
  }
  try {
    const info = await client.query<{ v: string; ro: string; recovery: boolean; can_create: boolean }>(
      `SELECT current_setting('server_version') AS v, current_setting('default_transaction_read_only') AS ro,
              pg_is_in_recovery() AS recovery, has_database_privilege(current_database(), 'CREATE') AS can_create`,
    );
    const row = info.rows[0];
    // "15.18 (Debian 15.18-0+deb12u1)": the number is what an engineer compares.
    const version = row?.v?.split(' ')[0] ?? '?';
    if (row?.recovery || row?.ro === 'on')
      return {
        ok: false,
        error: lineDbError(
          'LINE_DB_READ_ONLY',
          row?.recovery
            ? 'The line database is a read-only standby (in recovery): the station cannot write to it.'
            : 'The line database is read-only (default_transaction_read_only is on): the station cannot write to it.',
        ),
      };
    const applied = await appliedLineMigrations(client);
    const newer = newerSchemaError(applied);
    if (newer) return { ok: false, error: newer };
    const schema =
      applied.length === 0 ? 'absent' : applied.length < LINE_MIGRATIONS.length ? 'older' : 'current';
    if (schema !== 'current' && !row?.can_create) {
      const usable = await client.query<{ ok: boolean }>(
        `SELECT coalesce(has_schema_privilege($1, 'CREATE'), false) AS ok FROM pg_namespace WHERE nspname = $1`,
        [LINE_SCHEMA],
      );
      if (!usable.rows[0]?.ok)
        return {
          ok: false,
          error: lineDbError(
            'LINE_DB_PERMISSION_DENIED',
            `The database user may not create the ${LINE_SCHEMA} schema or its tables, which ${schema === 'absent' ? 'do not exist yet' : 'need an update'}.`,
          ),
        };
    }
    const what =
      schema === 'current'
        ? `the ${LINE_SCHEMA} schema is up to date (${applied.join(', ')})`
        : schema === 'absent'
          ? `the ${LINE_SCHEMA} schema will be created when the station first forwards`
          : `the ${LINE_SCHEMA} schema will be brought up to date when the station first forwards`;
    return ok({
      target: target.display,
      serverVersion: version,
      schema,
      message: `Connected to PostgreSQL ${version} at ${target.display}; ${what}.`,
    });
  } catch (e) {
    return { ok: false, error: classifyLineError(e, target.url) };
  } finally {
    await client.end().catch(() => undefined);
  }
};

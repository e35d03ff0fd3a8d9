import pg from 'pg';
import type { Result } from '../errors/result';
import type { LineDbTarget } from '../line-db/config';
import { diagnoseConnectFailure } from '../line-db/connection';
import { classifyLineError, type LineDbErrorCode } from '../line-db/errors';
import { LineModel } from './model';
import { hasLineSchema, type LotPart, loadLots, loadStations } from './queries';
import type { LineReport, StationState } from './types';

/*
 * The supervisor only reads. Every session it opens says so to PostgreSQL
 * (default_transaction_read_only), so even a login that may write cannot change the line through
 * it, whatever a bug in this code might send.
 */

export const READ_ONLY_OPTIONS = '-c default_transaction_read_only=on';
/** The lot reads sort and hash tens of thousands of rows: in memory, not in temporary files. */
const SESSION_OPTIONS = `${READ_ONLY_OPTIONS} -c work_mem=64MB`;

export interface ReadPoolOptions {
  readonly max?: number;
  readonly queryTimeoutMs?: number;
  readonly applicationName?: string;
}

export const createReadPool = (target: LineDbTarget, o: ReadPoolOptions = {}): pg.Pool => {
  const pool = new pg.Pool({
    connectionString: target.url,
    application_name: o.applicationName ?? 'linestation supervisor',
    max: o.max ?? 8,
    connectionTimeoutMillis: 5000,
    // Loading every lot of a large line at start takes seconds; a hung network must still end.
    query_timeout: o.queryTimeoutMs ?? 120_000,
    statement_timeout: o.queryTimeoutMs ?? 120_000,
    idle_in_transaction_session_timeout: 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    options: SESSION_OPTIONS,
  });
  // An idle client whose connection dies emits 'error' on the pool; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
};

/**
 * One consistent read: the station list and the lots named (all when undefined). With helper
 * connections, the lot reads run side by side on them, each in a transaction importing the main
 * one's snapshot (pg_export_snapshot), so they still see exactly the same rows.
 */
export const readLine = async (
  client: pg.ClientBase,
  lots: readonly string[] | undefined,
  helpers: readonly pg.ClientBase[] = [],
): Promise<{ lots: Map<string, LotPart>; stations: StationState[] }> => {
  const open: pg.ClientBase[] = [client];
  const end = (sql: string) => Promise.all(open.map((c) => c.query(sql)));
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    if (!(await hasLineSchema(client))) {
      await end('COMMIT');
      return { lots: new Map(), stations: [] };
    }
    const stations = await loadStations(client);
    if (lots !== undefined && lots.length === 0) {
      await end('COMMIT');
      return { lots: new Map(), stations };
    }
    if (helpers.length > 0) {
      const snapshot =
        (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]?.s ?? '';
      // The identifier comes from the server itself; checked anyway, since it is spliced in.
      if (/^[0-9A-F-]+$/i.test(snapshot))
        for (const h of helpers) {
          await h.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          open.push(h);
          await h.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
        }
    }
    const loaded = await loadLots(open, lots);
    await end('COMMIT');
    return { lots: loaded, stations };
  } catch (e) {
    await Promise.all(open.map((c) => c.query('ROLLBACK').catch(() => undefined)));
    throw e;
  }
};

/**
 * The page's numbers, read once: what `linestation line status --json` prints. The server sums
 * the same rows the same way (LineModel), so both always agree.
 */
export const readLineReport = async (
  target: LineDbTarget,
  options: { lotLimit?: number } = {},
): Promise<Result<LineReport, LineDbErrorCode>> => {
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: 5000,
    query_timeout: 120_000,
    application_name: 'linestation line status',
    options: SESSION_OPTIONS,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return { ok: false, error: await diagnoseConnectFailure(e, target.url) };
  }
  try {
    const read = await readLine(client, undefined);
    const model = new LineModel();
    model.replaceAll(read.lots, read.stations);
    return { ok: true, value: model.report(options.lotLimit) };
  } catch (e) {
    return { ok: false, error: classifyLineError(e, target.url) };
  } finally {
    await client.end().catch(() => undefined);
  }
};

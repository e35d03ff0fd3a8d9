import type { LsError } from '../errors/result';
import { redactLineSecrets } from './config';

export type LineDbErrorCode =
  | 'LINE_DB_BAD_URL'
  | 'LINE_DB_BAD_ENV_NAME'
  | 'LINE_DB_UNREACHABLE'
  | 'LINE_DB_TIMEOUT'
  | 'LINE_DB_CONNECTION_LOST'
  | 'LINE_DB_AUTH_FAILED'
  | 'LINE_DB_NOT_FOUND'
  | 'LINE_DB_NOT_POSTGRES'
  | 'LINE_DB_READ_ONLY'
  | 'LINE_DB_DISK_FULL'
  | 'LINE_DB_PERMISSION_DENIED'
  | 'LINE_DB_TOO_MANY_CONNECTIONS'
  | 'LINE_DB_TLS'
  | 'LINE_DB_SCHEMA_NEWER'
  | 'LINE_DB_ERROR';

/** Warnings the line database shows about this station while forwarding goes on. */
export type LineWarningCode = 'LINE_CLOCK_SKEW' | 'LINE_DUPLICATE_STATION_NAME';

/**
 * `config`: retrying cannot help until someone changes something (the password, the grant, the
 * URL, the station's version); the forwarder still retries, slowly, so the fix is picked up
 * without a restart. `transient`: the database or the network will come back.
 */
export type LineFailureKind = 'transient' | 'config';

export interface LineDbError extends LsError<LineDbErrorCode> {
  readonly kind: LineFailureKind;
}

const KIND: Readonly<Record<LineDbErrorCode, LineFailureKind>> = {
  LINE_DB_BAD_URL: 'config',
  LINE_DB_BAD_ENV_NAME: 'config',
  LINE_DB_UNREACHABLE: 'transient',
  LINE_DB_TIMEOUT: 'transient',
  LINE_DB_CONNECTION_LOST: 'transient',
  LINE_DB_AUTH_FAILED: 'config',
  LINE_DB_NOT_FOUND: 'config',
  LINE_DB_NOT_POSTGRES: 'config',
  LINE_DB_READ_ONLY: 'config',
  LINE_DB_DISK_FULL: 'transient',
  LINE_DB_PERMISSION_DENIED: 'config',
  LINE_DB_TOO_MANY_CONNECTIONS: 'transient',
  LINE_DB_TLS: 'config',
  LINE_DB_SCHEMA_NEWER: 'config',
  LINE_DB_ERROR: 'transient',
};

const KEEPS = 'The station keeps working and keeps every record; they are sent when this is fixed.';

const REMEDY: Readonly<Record<LineDbErrorCode, string>> = {
  LINE_DB_BAD_URL: `Set the variable to postgres://USER:PASSWORD@HOST:5432/DATABASE. ${KEEPS}`,
  LINE_DB_BAD_ENV_NAME: 'Name an environment variable (for example LINESTATION_LINE_DB), not a URL.',
  LINE_DB_UNREACHABLE: `Check the network and that the database server runs at that host and port. ${KEEPS}`,
  LINE_DB_TIMEOUT: `The database or the network is too slow or drops packets; check both. ${KEEPS}`,
  LINE_DB_CONNECTION_LOST: `The connection was cut (network, server restart or an administrator). ${KEEPS}`,
  LINE_DB_AUTH_FAILED: `Check the user and password in the line database URL. ${KEEPS}`,
  LINE_DB_NOT_FOUND: `Create the database, or fix its name in the URL. ${KEEPS}`,
  LINE_DB_NOT_POSTGRES: `The URL points at a server that is not PostgreSQL (wrong host or port?). ${KEEPS}`,
  LINE_DB_READ_ONLY: `The database only allows reading (a read replica, or default_transaction_read_only): point the station at the primary. ${KEEPS}`,
  LINE_DB_DISK_FULL: `The database server's disk is full: its administrator must free space. ${KEEPS}`,
  LINE_DB_PERMISSION_DENIED: `Grant the station's database user rights on the linestation schema (docs/line.md). ${KEEPS}`,
  LINE_DB_TOO_MANY_CONNECTIONS: `Raise max_connections on the server, or put a pooler in front of it. ${KEEPS}`,
  LINE_DB_TLS: `Check the sslmode and certificates in the URL against the server's TLS set-up. ${KEEPS}`,
  LINE_DB_SCHEMA_NEWER: `Update this station to the version the other stations run. ${KEEPS}`,
  LINE_DB_ERROR: KEEPS,
};

export const lineDbError = (
  code: LineDbErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): LineDbError => ({ code, kind: KIND[code], message, remedy: REMEDY[code], details });

interface PgLikeError {
  code?: unknown;
  message?: unknown;
  severity?: unknown;
}

const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Names a failure of pg (a server error with its SQLSTATE, or a socket or driver error) with a
 * line code an engineer can act on. Every text is passed through redactLineSecrets, since a
 * driver message may echo the URL.
 */
export const classifyLineError = (e: unknown, url: string | undefined): LineDbError => {
  if (isLineDbError(e)) return e;
  const pe = (typeof e === 'object' && e !== null ? e : {}) as PgLikeError;
  const code = typeof pe.code === 'string' ? pe.code : '';
  const msg = redactLineSecrets(text(e), url);
  const d = code ? { sqlstate: code } : {};
  switch (code) {
    case '28P01':
    case '28000':
      return lineDbError('LINE_DB_AUTH_FAILED', `The line database refused the login: ${msg}.`, d);
    case '3D000':
      return lineDbError('LINE_DB_NOT_FOUND', `The line database does not exist: ${msg}.`, d);
    case '25006':
      return lineDbError('LINE_DB_READ_ONLY', `The line database is read-only: ${msg}.`, d);
    case '53100':
      return lineDbError('LINE_DB_DISK_FULL', `The line database's disk is full: ${msg}.`, d);
    case '42501':
      return lineDbError(
        'LINE_DB_PERMISSION_DENIED',
        `The line database user lacks a permission: ${msg}.`,
        d,
      );
    case '53300':
      return lineDbError(
        'LINE_DB_TOO_MANY_CONNECTIONS',
        `The line database has no free connection: ${msg}.`,
        d,
      );
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return lineDbError('LINE_DB_UNREACHABLE', `The line database cannot be reached: ${msg}.`, d);
    case 'ECONNRESET':
    case 'EPIPE':
    case '57P01':
    case '57P02':
    case '57P03':
      return lineDbError(
        'LINE_DB_CONNECTION_LOST',
        `The connection to the line database was lost: ${msg}.`,
        d,
      );
    case 'ETIMEDOUT':
    case '57014':
      return lineDbError('LINE_DB_TIMEOUT', `The line database did not answer in time: ${msg}.`, d);
  }
  if (code.startsWith('08'))
    return lineDbError('LINE_DB_CONNECTION_LOST', `The connection to the line database failed: ${msg}.`, d);
  if (/timeout|timed out/i.test(msg))
    return lineDbError('LINE_DB_TIMEOUT', `The line database did not answer in time: ${msg}.`, d);
  if (/terminated|closed|ended|not queryable|reset/i.test(msg))
    return lineDbError('LINE_DB_CONNECTION_LOST', `The connection to the line database was lost: ${msg}.`, d);
  if (/ssl|tls|certificate/i.test(msg))
    return lineDbError('LINE_DB_TLS', `TLS to the line database failed: ${msg}.`, d);
  return lineDbError('LINE_DB_ERROR', `The line database failed: ${msg}.`, d);
};

export const isLineDbError = (e: unknown): e is LineDbError =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as { code?: unknown }).code === 'string' &&
  (e as { code: string }).code.startsWith('LINE_DB_') &&
  typeof (e as { kind?: unknown }).kind === 'string';

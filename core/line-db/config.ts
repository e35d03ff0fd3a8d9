import { isEnvVarName } from '../cloud/token';
import { err, ok, type Result } from '../errors/result';

/** The variable the station reads the line database's URL from, unless its settings name another. */
export const DEFAULT_LINE_DB_ENV = 'LINESTATION_LINE_DB';

export type LineConfigErrorCode = 'LINE_DB_BAD_URL' | 'LINE_DB_BAD_ENV_NAME';

export interface LineDbTarget {
  /** The URL as configured, with its password: only ever handed to pg, never shown. */
  readonly url: string;
  /** The same with the password replaced: what logs, errors and screens show. */
  readonly display: string;
  /** The variable it came from. */
  readonly envName: string;
}

const SECRET = '***';

/** postgres://user:***@host:port/db — the URL as a person may see it. Unparseable text shows nothing of itself. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password) u.password = SECRET;
    for (const key of ['password', 'sslpassword', 'sslkey'])
      if (u.searchParams.has(key)) u.searchParams.set(key, SECRET);
    return u.toString().replaceAll(encodeURIComponent(SECRET), SECRET);
  } catch {
    return '(an unreadable URL)';
  }
};

/**
 * Removes the URL's secrets from any text that might echo them (driver errors, server messages).
 * The whole URL is replaced by its redacted form first, then the password on its own (raw and
 * URL-encoded), so no reformatting of the URL by a library can carry it through.
 */
export const redactLineSecrets = (text: string, url: string | undefined): string => {
  let out = text;
  if (url) {
    out = out.split(url).join(redactUrl(url));
    let password = '';
    try {
      password = new URL(url).password;
    } catch {
      // An unparseable URL: its text as a whole was replaced above.
    }
    for (const secret of [password, password ? decodeURIComponent(password) : ''])
      if (secret.length >= 3) out = out.split(secret).join(SECRET);
  }
  // Anything URL-shaped with credentials, which we may not have been told about.
  return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${SECRET}@`);
};

/**
 * Reads the line database URL from the environment variable `envName` (default
 * LINESTATION_LINE_DB). `undefined` means no line database: the station works as a lone station.
 * A value that is not a postgres:// URL is refused by name, without echoing it.
 */
export const lineDbTargetFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
  envName: string = DEFAULT_LINE_DB_ENV,
): Result<LineDbTarget | undefined, LineConfigErrorCode> => {
  if (!isEnvVarName(envName))
    return err(
      'LINE_DB_BAD_ENV_NAME',
      'The line database setting must name an environment variable, not hold a value.',
      {
        remedy: `Give the name of a variable (for example ${DEFAULT_LINE_DB_ENV}) and put the URL in that variable.`,
      },
    );
  const url = env[envName]?.trim();
  if (!url) return ok(undefined);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return err('LINE_DB_BAD_URL', `$${envName} does not hold a URL.`, {
      remedy: `Set $${envName} to postgres://USER:PASSWORD@HOST:5432/DATABASE.`,
      details: { envName },
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    return err(
      'LINE_DB_BAD_URL',
      `$${envName} holds a ${parsed.protocol.replace(':', '')} URL, not a postgres:// one.`,
      {
        remedy: `Set $${envName} to postgres://USER:PASSWORD@HOST:5432/DATABASE.`,
        details: { envName },
      },
    );
  if (!parsed.hostname)
    return err('LINE_DB_BAD_URL', `The URL in $${envName} names no host.`, {
      remedy: `Set $${envName} to postgres://USER:PASSWORD@HOST:5432/DATABASE.`,
      details: { envName },
    });
  return ok({ url, display: redactUrl(url), envName });
};

import type { TokenProvider } from './client';

/** The default variable `linestation sync` reads when no profile names one. */
export const DEFAULT_TOKEN_ENV = 'PARTICLE_ACCESS_TOKEN';

/** A variable NAME, never a token: refusing token-shaped names keeps tokens off argv and out of profiles. */
export const isEnvVarName = (name: string): boolean =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !/^[0-9a-f]{32,}$/i.test(name);

/**
 * The CLI's token provider: read at each request from the environment variable the profile
 * names, so the token never appears on a command line (visible in process listings).
 */
export const envTokenProvider =
  (env: Readonly<Record<string, string | undefined>>, name: string): TokenProvider =>
  async () => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };

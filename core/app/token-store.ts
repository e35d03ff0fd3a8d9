/**
 * Where the Particle access token lives. The core only ever asks this seam; the desktop app
 * supplies one backed by Electron's safeStorage (the OS keychain encrypts it), tests and the
 * headless service use the in-memory one. The token never goes into a profile or a log.
 */
export interface TokenStore {
  get(): Promise<string | undefined>;
  set(token: string): Promise<void>;
  /** Shown to the engineer: where the token is kept ("OS keychain (safeStorage)", "memory"). */
  readonly storage: string;
}

export const memoryTokenStore = (initial?: string): TokenStore => {
  let token = initial;
  return {
    storage: 'memory (lost when the app closes)',
    get: async () => token,
    set: async (t) => {
      token = t;
    },
  };
};

import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The station's data directory: `--data-dir`, else LINESTATION_DATA, else the OS's per-user
 * app-data folder (the same place Electron's app.getPath('userData') points at).
 */
export const resolveDataDir = (
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string => {
  if (explicit) return explicit;
  if (env.LINESTATION_DATA) return env.LINESTATION_DATA;
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'linestation');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'linestation');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'linestation');
};

export const databasePath = (dataDir: string): string => join(dataDir, 'station.sqlite');

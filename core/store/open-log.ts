import { acquireStationLock } from './station-lock';
import { StationLog } from './station-log';

/**
 * Opens the station log for reading and engineer actions. Attempts a dead process left
 * "running" are marked interrupted only when the data folder's lock is free at this moment:
 * while a station holds it, "running" means running, and those attempts are not ours to end.
 */
export const openLogForReading = (
  dataDir: string,
  options: { now?: () => Date } = {},
): { log: StationLog; recovered: number } => {
  const locked = acquireStationLock(dataDir, { purpose: 'station', command: 'linestation (recovery check)' });
  if (!locked.ok) return StationLog.open(dataDir, options);
  try {
    return StationLog.open(dataDir, { ...options, recover: true });
  } finally {
    locked.value.release();
  }
};

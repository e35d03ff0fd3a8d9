import type { LsError } from '../errors/result';
import type { LineWarningCode } from './errors';

/**
 * - `connecting`: started, no answer yet;
 * - `connected`: the last pass (or heartbeat) committed;
 * - `unreachable`: the last try failed in a way that passes (network, server down, disk full);
 * - `refused`: the database answered but will not take this station's rows until someone acts
 *   (password, permissions, read-only, a newer schema, not PostgreSQL);
 * - `stopped`: the forwarder is not running (the station closed).
 * In every state the station itself goes on, and nothing is lost: `behind` counts what waits.
 */
export type LineState = 'connecting' | 'connected' | 'unreachable' | 'refused' | 'stopped';

export interface LineStatus {
  readonly state: LineState;
  /** Where it forwards, without the password. */
  readonly target: string;
  readonly envName: string;
  readonly stationId: string;
  readonly stationName: string;
  /** Changes committed at this station and not yet in the line database. */
  readonly behind: number;
  /** Every change up to this station sequence number is in the line database. */
  readonly forwardedSeq: number;
  /** When the line database last committed a pass of this station (ISO). */
  readonly lastForwardAt: string | null;
  /** Since when passes have been failing (ISO); null while connected. */
  readonly failingSince: string | null;
  /** Why the last pass failed (credentials redacted): a LINE_DB_* code, or STORE_* for the local log. */
  readonly error: LsError | null;
  /** The next try (ISO) while failing. */
  readonly nextTryAt: string | null;
  /** This station's clock minus the line database's, measured at the last pass. */
  readonly clockSkewMs: number | null;
  /** Things the line database shows about this station while forwarding goes on. */
  readonly warnings: readonly LsError<LineWarningCode>[];
  /** Other stations with this station's name (their IDs differ), as the line database lists them. */
  readonly sameNameStations: readonly { stationId: string; lastSeenAt: string }[];
}

const hhmm = (iso: string): string => {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

/**
 * The one line the station shows: `line database: connected`, `… connected, 123 records
 * behind`, `… unreachable since 10:42 (LINE_DB_AUTH_FAILED), 123 records behind`.
 */
export const lineStatusLine = (s: LineStatus): string => {
  const behind = s.behind > 0 ? `${s.behind} record${s.behind === 1 ? '' : 's'} behind` : '';
  let head: string;
  switch (s.state) {
    case 'connected':
      head = 'connected';
      break;
    case 'connecting':
      head = 'connecting';
      break;
    case 'stopped':
      head = 'stopped';
      break;
    case 'unreachable':
    case 'refused':
      head = `${s.state === 'refused' ? 'refused' : 'unreachable'}${s.failingSince ? ` since ${hhmm(s.failingSince)}` : ''}${s.error ? ` (${s.error.code})` : ''}`;
      break;
  }
  const warnings = s.warnings.map((w) => w.code).join(', ');
  return `line database: ${[head, behind, warnings].filter((x) => x !== '').join(', ')}`;
};

/*
 * The supervisor view's shapes: what `GET /api/state`, `/api/stats`, `/api/unit/:id` and the
 * server-sent events carry, and what `linestation line status --json` prints. Plain data (JSON),
 * so the page (renderer/supervisor) imports these types without pulling in server code.
 */

// The same shapes as a station's own batch statistics, so the page and the batch view share charts.
import type { ParetoEntry, Percentiles } from '../store/stats';

export type { ParetoEntry, Percentiles };

export type GroupBy = 'station' | 'operator' | 'lot';

/**
 * Numbers for one group of attempts (the whole line, a station, an operator or a lot). A "unit"
 * is a device in a lot: a device run again in a later lot is a new unit of work.
 */
export interface GroupStats {
  /** 'line', or the station ID, the operator's name, the lot. */
  readonly key: string;
  /** What people read: the station's name, the operator, the lot. */
  readonly label: string;
  readonly attempts: number;
  readonly passed: number;
  readonly failed: number;
  readonly interrupted: number;
  readonly skipped: number;
  readonly running: number;
  /** Units seen (device IDs read by identify, per lot). */
  readonly units: number;
  /** Units with at least one PASS. */
  readonly unitsPassed: number;
  /** unitsPassed / units (0 without units). */
  readonly yield: number;
  /**
   * Units whose first attempt in the lot, across every station of the line, was here and is
   * finished. A device failed at one station and passed on a retest at another counts once, at
   * the first, as not passed first time.
   */
  readonly firstUnits: number;
  readonly firstPassed: number;
  /** firstPassed / firstUnits (0 without). */
  readonly firstPassYield: number;
  /** Units passed per hour of lot time: each lot's first start to last end, summed over lots. */
  readonly devicesPerHour: number;
  /** The newest start or end seen (ISO), or null. */
  readonly lastActivityAt: string | null;
  /** Stations that worked on it (for lots and operators). */
  readonly stations: number;
  readonly pareto: readonly ParetoEntry[];
  readonly stepMs: Readonly<Record<string, Percentiles>>;
}

/** A station as the supervisor sees it: the line database's row and what it runs now. */
export interface StationState {
  readonly stationId: string;
  readonly name: string;
  readonly hostname: string | null;
  readonly appVersion: string | null;
  readonly lastSeenAt: string;
  /** Seconds since last_seen_at by the database's clock, when the state was read. */
  readonly lastSeenAgoS: number;
  /** Changes committed at the station and not in the line database at its last contact. */
  readonly behind: number;
  readonly forwardedSeq: number;
  readonly clockSkewMs: number | null;
  /** The station's newest batch that is running, if any. */
  readonly runningLot: string | null;
  /** The newest batch's lot and state when none runs (paused, closed). */
  readonly lastLot: string | null;
  readonly lastBatchState: string | null;
  readonly operator: string | null;
  /** Attempts of the running batch still running: its busy slots. */
  readonly slotsBusy: number;
}

/**
 * Whether the server hears the line database now. While it does not, the numbers are those of its
 * last read (`since`): the page says so instead of passing them off as live.
 */
export interface DatabaseLink {
  readonly state: 'live' | 'lost';
  /** When it was lost (ISO), null while live. */
  readonly since: string | null;
  /** Why (a LINE_DB_* code, credentials redacted), null while live. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface LineState {
  /** Grows with every change the server has taken in; the page drops older updates. */
  readonly version: number;
  readonly generatedAt: string;
  readonly database: DatabaseLink;
  readonly stations: readonly StationState[];
  readonly totals: GroupStats;
  readonly byStation: readonly GroupStats[];
}

export interface LineStats {
  readonly version: number;
  readonly by: GroupBy;
  readonly groups: readonly GroupStats[];
}

/** The SSE 'update' event: what changed since the previous version, whole rows only. */
export interface LineUpdate {
  readonly version: number;
  readonly generatedAt: string;
  readonly stations: readonly StationState[];
  readonly totals: GroupStats;
  readonly changed: Readonly<Record<GroupBy, readonly GroupStats[]>>;
}

export interface UnitAttempt {
  readonly stationId: string;
  readonly station: string;
  readonly attemptId: number;
  readonly lot: string;
  readonly deviceId: string | null;
  readonly labelSerial: string | null;
  readonly serialNumber: string | null;
  readonly slot: number | null;
  readonly tryNumber: number | null;
  readonly operator: string | null;
  readonly result: string;
  readonly step: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly registrationState: string | null;
  readonly lineCheck: string | null;
}

export interface UnitRegistration {
  readonly stationId: string;
  readonly station: string;
  readonly productId: string;
  readonly action: string;
  readonly state: string;
  readonly outcome: string | null;
  readonly doneAt: string | null;
}

export interface UnitHistoryView {
  readonly query: string;
  /** How the query matched: a device ID, a printed label serial, the device's serial number, its ICCID. */
  readonly matchedBy: 'device' | 'label' | 'serial' | 'iccid' | null;
  readonly deviceIds: readonly string[];
  /** Oldest first, across every station; at most UNIT_ATTEMPT_LIMIT. */
  readonly attempts: readonly UnitAttempt[];
  readonly registrations: readonly UnitRegistration[];
  /** A station provisioning it right now, if any. */
  readonly claim: { readonly station: string; readonly since: string; readonly lot: string | null } | null;
}

/** What `linestation line status --json` adds when the line database answers: the page's numbers. */
export interface LineReport {
  readonly stations: readonly StationState[];
  readonly totals: GroupStats;
  readonly byStation: readonly GroupStats[];
  readonly byOperator: readonly GroupStats[];
  readonly byLot: readonly GroupStats[];
}

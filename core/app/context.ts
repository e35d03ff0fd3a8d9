import type { z } from 'zod';
import type { RateLimiter } from '../cloud/rate-budget';
import type { EventName, EventPayload } from '../contract/events';
import type { MethodName, Methods, ParsedRequestOf } from '../contract/methods';
import type { Result } from '../errors/result';
import type { ReleasedFirmwareAnswer } from '../station/readiness';
import type { FirmwareChecker } from '../station/readiness-firmware';
import type { StationLog } from '../store/station-log';
import type { UsbTransport } from '../usb/transport';
import type { Line, LineTuning } from './line';
import type { AppSession } from './session';
import type { SettingsStore } from './settings-store';
import type { TokenStore } from './token-store';

export interface AppServiceOptions {
  /** The profile the station provisions at start (Electron: --profile or LINESTATION_PROFILE). */
  readonly profilePath?: string;
  /** Relative paths in requests resolve against this (default: process.cwd()). */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly releasedFirmwareCheck?: () => Promise<ReleasedFirmwareAnswer>;
  readonly firmware?: FirmwareChecker;
  readonly version?: string;
  readonly now?: () => Date;
  /** The station's data folder (database, settings); default LINESTATION_DATA or the OS app-data folder. */
  readonly dataDir?: string;
  /** The USB bus the line watches: NodeUsbTransport in the desktop app, a SimBus in tests and the demo. */
  readonly transport?: UsbTransport;
  /** Simulated devices: only a loopback cloud is allowed (openSession refuses a real one). */
  readonly simulated?: boolean;
  /** Session timings (a simulator scaled down wants shorter polls and timeouts). */
  readonly lineTuning?: LineTuning;
  /** Where the Particle token is kept; default in memory. Electron passes a safeStorage store. */
  readonly tokenStore?: TokenStore;
  /** Asks the person at the station where to save a file (Electron: the save dialog). */
  readonly chooseSavePath?: (suggestedName: string) => Promise<string | undefined>;
  /** Asks the person at the station to pick files (Electron: the open dialog); [] when cancelled. */
  readonly chooseOpenPaths?: (kind: 'firmware' | 'profile', multiple: boolean) => Promise<string[]>;
  /** Station name until an engineer sets one (default: the host name). */
  readonly stationName?: string;
  /** Minimum ms between two station.changed events (default 250, the UI's 4 Hz). */
  readonly stationThrottleMs?: number;
}

/** What a handler may use: the options, the session, the station state and the event emitter. */
export interface HandlerContext {
  readonly options: AppServiceOptions;
  readonly session: AppSession;
  readonly state: { profilePath: string | undefined };
  resolvePath(path: string): string;
  readonly line: Line;
  readonly settings: SettingsStore;
  readonly tokens: TokenStore;
  /**
   * The station's one cloud rate limiter (its share of the public IP's budget, from the settings'
   * stationsSharingIp): the batch's session and every cloud call of the app take it.
   */
  rateLimiter(): RateLimiter;
  /** The station log for reads and audit entries (the running batch's own handle while one runs). */
  log(): StationLog;
  readonly dataDir: string;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
}

/** A handler receives the validated request and returns the response (validated again on the way out). */
export type Handler<M extends MethodName> = (
  request: ParsedRequestOf<M>,
  ctx: HandlerContext,
) => Promise<Result<z.input<Methods[M]['response']>>>;

export type Handlers = { [M in MethodName]: Handler<M> };

import type { z } from 'zod';
import type { EventName, EventPayload } from '../contract/events';
import type { MethodName, Methods, ParsedRequestOf } from '../contract/methods';
import type { Result } from '../errors/result';
import type { ReleasedFirmwareAnswer } from '../station/readiness';
import type { FirmwareChecker } from '../station/readiness-firmware';
import type { AppSession } from './session';

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
}

/** What a handler may use: the options, the session, the station state and the event emitter. */
export interface HandlerContext {
  readonly options: AppServiceOptions;
  readonly session: AppSession;
  readonly state: { profilePath: string | undefined };
  resolvePath(path: string): string;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
}

/** A handler receives the validated request and returns the response (validated again on the way out). */
export type Handler<M extends MethodName> = (
  request: ParsedRequestOf<M>,
  ctx: HandlerContext,
) => Promise<Result<z.input<Methods[M]['response']>>>;

export type Handlers = { [M in MethodName]: Handler<M> };

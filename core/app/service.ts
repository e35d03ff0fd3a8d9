import { resolve } from 'node:path';
import { createRateLimiter, type RateLimiter, stationShare } from '../cloud/rate-budget';
import type { Envelope, ErrorPayload, Role } from '../contract/define';
import { EVENTS, type EventName, type EventPayload } from '../contract/events';
import { isMethodName, METHODS, type MethodName, type RequestOf, type ResponseOf } from '../contract/methods';
import { type LsError, type Result, toLsError } from '../errors/result';
import { resolveDataDir } from '../store/data-dir';
import { openLogForReading } from '../store/open-log';
import type { StationLog } from '../store/station-log';
import type { AppServiceOptions, HandlerContext, Handlers } from './context';
import { batchHandlers } from './handlers/batch';
import { cloudHandlers } from './handlers/cloud';
import { firmwareHandlers } from './handlers/firmware';
import { labelHandlers } from './handlers/labels';
import { lineHandlers } from './handlers/line';
import { profileHandlers } from './handlers/profile';
import { sessionHandlers } from './handlers/session';
import { settingsHandlers } from './handlers/settings';
import { stationHandlers } from './handlers/station';
import { Line } from './line';
import { type AppSession, createSession, mayCall } from './session';
import { openSettingsStore } from './settings-store';
import { memoryTokenStore } from './token-store';

/** One handler per contract method; the type makes a missing one a compile error. */
const HANDLERS: Handlers = {
  ...sessionHandlers,
  ...profileHandlers,
  ...firmwareHandlers,
  ...stationHandlers,
  ...batchHandlers,
  ...settingsHandlers,
  ...cloudHandlers,
  ...lineHandlers,
  ...labelHandlers,
};

/** Request fields that must never reach the audit log. */
const SECRET_FIELDS = new Set(['pin', 'token']);

const auditDetails = (request: unknown): Record<string, unknown> => {
  if (typeof request !== 'object' || request === null) return {};
  return Object.fromEntries(
    Object.entries(request).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? '(hidden)' : v]),
  );
};

export type AppEventListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/**
 * The composition root behind every shell: Electron's IPC binding and the e2e bridge both call
 * `call`, so the renderer is tested against exactly the code the desktop app runs.
 */
export interface AppService {
  /** Untyped entry for shells: validates the method name and the payload before anything runs. */
  call(method: unknown, request: unknown): Promise<Envelope<unknown>>;
  /** Typed entry for core callers and tests. */
  invoke<M extends MethodName>(method: M, request: RequestOf<M>): Promise<Envelope<ResponseOf<M>>>;
  on(listener: AppEventListener): () => void;
  readonly session: AppSession;
  /** Stops a running batch (left resumable) and closes the station log; for app quit and tests. */
  dispose(): Promise<void>;
}

const toPayload = (e: LsError): ErrorPayload => ({
  code: e.code,
  message: e.message,
  ...(e.remedy ? { remedy: e.remedy } : {}),
  ...(e.details ? { details: { ...e.details } } : {}),
});

const failure = (
  code: string,
  message: string,
  remedy?: string,
  details?: Record<string, unknown>,
): Envelope<never> => ({
  ok: false,
  error: { code, message, ...(remedy ? { remedy } : {}), ...(details ? { details } : {}) },
});

export const createAppService = (options: AppServiceOptions & { role?: Role } = {}): AppService => {
  const session = createSession(options.role ?? 'operator', options.now);
  const listeners = new Set<AppEventListener>();
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const dataDir = resolveDataDir(options.dataDir, { ...env });
  const settings = openSettingsStore(dataDir, options.stationName);
  const tokens = options.tokenStore ?? memoryTokenStore();
  let appLog: StationLog | undefined;
  // One limiter for the station, made again only when the engineer changes the number of stations.
  let limiter: { stations: number; limiter: RateLimiter } | undefined;
  const rateLimiter = (): RateLimiter => {
    const stations = settings.read().stationsSharingIp ?? 1;
    if (limiter?.stations !== stations)
      limiter = { stations, limiter: createRateLimiter(stationShare(stations)) };
    return limiter.limiter;
  };
  const state: HandlerContext['state'] = {
    profilePath: options.profilePath ? resolve(cwd, options.profilePath) : undefined,
  };
  const line = new Line({
    transport: () => options.transport,
    simulated: options.simulated ?? false,
    dataDir,
    tuning: options.lineTuning,
    ...(options.stationThrottleMs !== undefined ? { throttleMs: options.stationThrottleMs } : {}),
    ...(options.now ? { now: options.now } : {}),
    settings: () => {
      const s = settings.read();
      return { stationName: s.stationName, slotLabels: s.slotLabels, lineDbEnv: s.lineDbEnv };
    },
    rateLimiter,
    // The stored token reaches the session as the variable the profile names; the environment
    // wins when it already holds one (a CI station configured by its environment).
    env: async () => {
      const out: NodeJS.ProcessEnv = { ...env };
      const token = await tokens.get();
      const profile = state.profilePath;
      if (token && profile) {
        const { loadProfile } = await import('../station/profile');
        const loaded = await loadProfile(profile);
        const reg = loaded.ok ? loaded.value.profile.registration : undefined;
        if (reg?.mode === 'cloud' && !out[reg.tokenEnv]) out[reg.tokenEnv] = token;
      }
      return out;
    },
    onChange: (snapshot) => ctx.emit('station.changed', snapshot),
  });
  const ctx: HandlerContext = {
    options,
    session,
    state,
    resolvePath: (path) => resolve(cwd, path),
    line,
    settings,
    tokens,
    rateLimiter,
    dataDir,
    log: () => {
      const running = line.sessionLog;
      if (running) return running;
      // Opened once and kept. Attempts a crashed run left running are recovered only when no
      // station (ours or another process's) holds the data folder.
      appLog ??= openLogForReading(dataDir).log;
      return appLog;
    },
    emit: (event, payload) => {
      // Events obey the contract like responses do; a malformed one is a bug, not a message.
      const parsed = EVENTS[event].parse(payload) as EventPayload<typeof event>;
      for (const l of listeners) {
        try {
          l(event, parsed);
        } catch {
          // A shell's listener failing (a closed window) must not break the core's work.
        }
      }
    },
  };

  const call = async (method: unknown, request: unknown): Promise<Envelope<unknown>> => {
    if (!isMethodName(method))
      return failure('UNKNOWN_METHOD', `There is no method called ${JSON.stringify(method)}.`, undefined, {
        method: String(method),
      });
    const spec = METHODS[method];
    if (!mayCall(session.role, spec.role)) {
      // A refused attempt at an engineer action is itself worth an audit line.
      audit('operator', method, 'FORBIDDEN', {});
      return failure(
        'FORBIDDEN',
        `"${method}" needs engineer rights; this station is in operator mode.`,
        'Ask an engineer to unlock the station.',
        { method, role: session.role },
      );
    }
    const parsed = spec.request.safeParse(request ?? {});
    if (!parsed.success)
      return failure(
        'INVALID_REQUEST',
        `Bad request for ${method}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ')}.`,
        undefined,
        { method },
      );
    try {
      // The table is keyed by method, so this handler's request type is exactly spec.request's output.
      const handler = HANDLERS[method] as (
        request: unknown,
        context: HandlerContext,
      ) => Promise<Result<unknown>>;
      const result = await handler(parsed.data, ctx);
      // Every engineer action is audited (refusals too), after it ran, with secrets blanked.
      if (spec.role === 'engineer')
        audit('engineer', method, result.ok ? 'ok' : result.error.code, parsed.data);
      if (!result.ok) return { ok: false, error: toPayload(result.error) };
      const response = spec.response.safeParse(result.value);
      if (!response.success)
        return failure(
          'INTERNAL',
          `The core answered ${method} with a payload that breaks the contract.`,
          undefined,
          {
            issues: response.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
          },
        );
      return { ok: true, value: response.data };
    } catch (e) {
      return { ok: false, error: toPayload(toLsError(e)) };
    }
  };

  const audit = (actor: string, method: string, outcome: string, request: unknown): void => {
    try {
      ctx.log().recordAudit(actor, method, null, { ...auditDetails(request), outcome });
    } catch {
      // The action already happened; an audit write that fails is reported by the store's own
      // errors on the next batch write. Never turn a done action into an error here.
    }
  };

  return {
    call,
    invoke: (method, request) => call(method, request) as never,
    dispose: async () => {
      await line.dispose();
      appLog?.close();
      appLog = undefined;
    },
    on: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    session,
  };
};

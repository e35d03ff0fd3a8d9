import { resolve } from 'node:path';
import type { Envelope, ErrorPayload, Role } from '../contract/define';
import { EVENTS, type EventName, type EventPayload } from '../contract/events';
import { isMethodName, METHODS, type MethodName, type RequestOf, type ResponseOf } from '../contract/methods';
import { type LsError, type Result, toLsError } from '../errors/result';
import type { AppServiceOptions, HandlerContext, Handlers } from './context';
import { firmwareHandlers } from './handlers/firmware';
import { profileHandlers } from './handlers/profile';
import { sessionHandlers } from './handlers/session';
import { type AppSession, createSession, mayCall } from './session';

/** One handler per contract method; the type makes a missing one a compile error. */
const HANDLERS: Handlers = { ...sessionHandlers, ...profileHandlers, ...firmwareHandlers };

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
  const ctx: HandlerContext = {
    options,
    session,
    state: { profilePath: options.profilePath ? resolve(cwd, options.profilePath) : undefined },
    resolvePath: (path) => resolve(cwd, path),
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
    if (!mayCall(session.role, spec.role))
      return failure(
        'FORBIDDEN',
        `"${method}" needs engineer rights; this station is in operator mode.`,
        'Ask an engineer to unlock the station.',
        { method, role: session.role },
      );
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

  return {
    call,
    invoke: (method, request) => call(method, request) as never,
    on: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    session,
  };
};

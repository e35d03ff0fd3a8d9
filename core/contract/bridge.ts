import type { Envelope } from './define';
import type { EventName, EventPayload } from './events';
import type { MethodName, RequestOf, ResponseOf } from './methods';

/**
 * `window.linestation`: the whole surface the renderer sees. The Electron preload implements
 * it over IPC; the e2e bridge implements it over Playwright bindings; both end in core/app.
 */
export interface LinestationBridge {
  invoke<M extends MethodName>(method: M, request: RequestOf<M>): Promise<Envelope<ResponseOf<M>>>;
  /** Subscribes to a core event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** IPC channel names, shared by electron/main and electron/preload so they cannot drift. */
export const invokeChannel = (method: MethodName): string => `linestation:invoke:${method}`;
export const EVENT_CHANNEL = 'linestation:event';

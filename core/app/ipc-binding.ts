import { invokeChannel } from '../contract/bridge';
import type { Envelope } from '../contract/define';
import { METHOD_NAMES } from '../contract/methods';
import type { AppService } from './service';

/**
 * The IPC binding without Electron: one handler per contract method, each refusing senders the
 * shell does not trust and delegating to the service (which validates the payload and the role).
 * electron/main.ts passes `ipcMain`; tests pass a fake, so this logic runs under test even
 * though Electron cannot start here.
 */
export interface IpcMainLike<E> {
  handle(channel: string, listener: (event: E, request: unknown) => unknown): void;
  removeHandler(channel: string): void;
}

export interface IpcBindingOptions<E> {
  /** Whether the call comes from our own page (main frame, our file URL). */
  isTrustedSender(event: E): boolean;
  /** Pushes a core event to the window (webContents.send on the event channel). */
  sendEvent(message: { event: string; payload: unknown }): void;
}

const UNTRUSTED: Envelope<never> = {
  ok: false,
  error: { code: 'FORBIDDEN', message: 'Calls are accepted only from the linestation page.' },
};

/** Registers every method and forwards events; returns a function that undoes both. */
export const bindIpc = <E>(
  ipc: IpcMainLike<E>,
  service: AppService,
  options: IpcBindingOptions<E>,
): (() => void) => {
  for (const method of METHOD_NAMES)
    ipc.handle(invokeChannel(method), (event, request) =>
      options.isTrustedSender(event) ? service.call(method, request) : UNTRUSTED,
    );
  const off = service.on((event, payload) => options.sendEvent({ event, payload }));
  return () => {
    off();
    for (const method of METHOD_NAMES) ipc.removeHandler(invokeChannel(method));
  };
};

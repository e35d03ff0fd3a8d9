/*
 * The only bridge between the sandboxed renderer and the core: `window.linestation`, with an
 * invoke per contract method and event subscription. It imports nothing but electron and the
 * contract's channel names (no zod: payloads are validated in the main process, which trusts
 * nothing the renderer sends).
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { EVENT_CHANNEL, invokeChannel, type LinestationBridge } from '../core/contract/bridge';
import type { Envelope } from '../core/contract/define';

const bridge: LinestationBridge = {
  invoke: (method, request) =>
    (ipcRenderer.invoke(invokeChannel(method), request) as Promise<Envelope<never>>).catch(
      (e: unknown): Envelope<never> => ({
        ok: false,
        error: {
          code: 'IPC_FAILED',
          message: `The station core did not answer ${String(method)}: ${e instanceof Error ? e.message : String(e)}`,
        },
      }),
    ),
  on: (event, listener) => {
    const handler = (_e: IpcRendererEvent, message: { event: string; payload: unknown }) => {
      if (message && message.event === event) (listener as (payload: unknown) => void)(message.payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('linestation', bridge);

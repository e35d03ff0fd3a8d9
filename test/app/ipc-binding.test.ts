import { describe, expect, it } from 'vitest';
import { bindIpc, type IpcMainLike } from '../../core/app/ipc-binding';
import { invokeChannel } from '../../core/contract/bridge';
import { METHOD_NAMES } from '../../core/contract/methods';
import { makeProductFolder } from '../station/profile-fixtures';
import { createAppService } from './temp-service';

interface FakeEvent {
  trusted: boolean;
}

const fakeIpc = () => {
  const handlers = new Map<string, (event: FakeEvent, request: unknown) => unknown>();
  const ipc: IpcMainLike<FakeEvent> = {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener);
    },
    removeHandler: (channel) => {
      handlers.delete(channel);
    },
  };
  return { ipc, handlers };
};

describe('bindIpc', () => {
  it('registers one handler per contract method and removes them all on unbind', () => {
    const { ipc, handlers } = fakeIpc();
    const unbind = bindIpc(ipc, createAppService(), { isTrustedSender: () => true, sendEvent: () => {} });
    expect([...handlers.keys()].sort()).toEqual(METHOD_NAMES.map(invokeChannel).sort());
    unbind();
    expect(handlers.size).toBe(0);
  });

  it('delegates trusted calls to the service, which still validates and enforces roles', async () => {
    const { ipc, handlers } = fakeIpc();
    bindIpc(ipc, createAppService(), { isTrustedSender: (e) => e.trusted, sendEvent: () => {} });
    const current = handlers.get(invokeChannel('profile.current'));
    expect(await current?.({ trusted: true }, {})).toEqual({ ok: true, value: null });
    const bad = (await current?.({ trusted: true }, { extra: 1 })) as {
      ok: boolean;
      error: { code: string };
    };
    expect(bad.error.code).toBe('INVALID_REQUEST');
    const load = (await handlers.get(invokeChannel('profile.load'))?.({ trusted: true }, { path: 'x' })) as {
      error: { code: string };
    };
    expect(load.error.code).toBe('FORBIDDEN');
  });

  it('refuses untrusted senders before the service sees the call', async () => {
    const { ipc, handlers } = fakeIpc();
    bindIpc(ipc, createAppService(), { isTrustedSender: (e) => e.trusted, sendEvent: () => {} });
    const r = (await handlers.get(invokeChannel('session.get'))?.({ trusted: false }, {})) as {
      ok: boolean;
      error: { code: string };
    };
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('FORBIDDEN');
  });

  it('forwards core events to the window until unbound', async () => {
    const { ipc, handlers } = fakeIpc();
    const sent: { event: string }[] = [];
    const f = makeProductFolder();
    const service = createAppService({ role: 'engineer', env: {} });
    const unbind = bindIpc(ipc, service, { isTrustedSender: () => true, sendEvent: (m) => sent.push(m) });
    await handlers.get(invokeChannel('profile.load'))?.({ trusted: true }, { path: f.profilePath });
    expect(sent.map((m) => m.event)).toEqual(['profile.changed']);
    unbind();
    await service.invoke('profile.load', { path: f.profilePath });
    expect(sent).toHaveLength(1);
  });
});

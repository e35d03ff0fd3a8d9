import { useCallback, useEffect, useState } from 'react';
import type { LinestationBridge, ProfileWithReadiness, ResponseOf } from '../core/contract/index';
import { BridgeError, unwrap } from './bridge';
import { Checklist } from './components/Checklist';
import { ErrorPanel } from './components/ErrorPanel';
import { FirmwareTable } from './components/FirmwareTable';
import { LoadProfile } from './components/LoadProfile';
import { LockProfile } from './components/LockProfile';
import { ProfileSummary } from './components/ProfileSummary';
import { ReadyBanner } from './components/ReadyBanner';

type Session = ResponseOf<'session.get'>;
type State =
  | { kind: 'loading' }
  | { kind: 'error'; error: BridgeError }
  | { kind: 'none' }
  | { kind: 'profile'; data: ProfileWithReadiness };

const asBridgeError = (e: unknown): BridgeError =>
  e instanceof BridgeError
    ? e
    : new BridgeError({ code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) });

export const App = ({ bridge }: { bridge: LinestationBridge | undefined }) => {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [session, setSession] = useState<Session | undefined>();

  const refresh = useCallback(async () => {
    if (!bridge) return;
    try {
      const [s, current] = await Promise.all([
        bridge.invoke('session.get', {}).then(unwrap),
        bridge.invoke('profile.current', {}).then(unwrap),
      ]);
      setSession(s);
      setState(current ? { kind: 'profile', data: current } : { kind: 'none' });
    } catch (e) {
      setState({ kind: 'error', error: asBridgeError(e) });
    }
  }, [bridge]);

  useEffect(() => {
    if (!bridge) return;
    void refresh();
    return bridge.on('profile.changed', (data) => setState({ kind: 'profile', data }));
  }, [bridge, refresh]);

  const load = useCallback(
    async (path: string) => {
      if (!bridge) return;
      const envelope = await bridge.invoke('profile.load', { path });
      if (envelope.ok) setState({ kind: 'profile', data: envelope.value });
      else throw new BridgeError(envelope.error);
    },
    [bridge],
  );

  const lock = useCallback(async () => {
    if (!bridge) return;
    const envelope = await bridge.invoke('profile.lock', {});
    if (envelope.ok) setState({ kind: 'profile', data: envelope.value });
    else throw new BridgeError(envelope.error);
  }, [bridge]);

  if (!bridge)
    return (
      <main className="app">
        <ErrorPanel
          error={{
            code: 'NO_BRIDGE',
            message:
              'This page runs inside the linestation desktop app; the bridge to the station is missing.',
            remedy: 'Start it with "npm start".',
          }}
        />
      </main>
    );

  return (
    <main className="app">
      <header className="topbar">
        <h1>linestation</h1>
        <div className="topbar-right">
          {session && (
            <span className={`role role-${session.role}`} data-testid="role">
              {session.role === 'engineer' ? 'Engineer' : 'Operator'}
            </span>
          )}
          <button type="button" className="button" onClick={() => void refresh()} data-testid="refresh">
            Check again
          </button>
        </div>
      </header>
      {state.kind === 'loading' && <p className="muted">Loading the station…</p>}
      {state.kind === 'error' && <ErrorPanel error={state.error} />}
      {state.kind === 'none' && (
        <section className="card">
          <h2>No product profile loaded</h2>
          <p className="muted">
            The station provisions nothing until an engineer loads a locked product profile.
          </p>
          {session?.role === 'engineer' && <LoadProfile onLoad={load} />}
        </section>
      )}
      {state.kind === 'profile' && (
        <>
          <ReadyBanner readiness={state.data.readiness} />
          <div className="columns">
            <ProfileSummary profile={state.data.profile} />
            <Checklist readiness={state.data.readiness} />
          </div>
          <FirmwareTable files={state.data.profile.firmware} />
          {session?.role === 'engineer' && !state.data.profile.locked && <LockProfile onLock={lock} />}
          {session?.role === 'engineer' && <LoadProfile onLoad={load} />}
        </>
      )}
    </main>
  );
};

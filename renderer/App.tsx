import { useCallback, useEffect, useState } from 'react';
import type { LinestationBridge, ProfileWithReadiness, ResponseOf } from '../core/contract/index';
import { BridgeError, unwrap } from './bridge';
import { Batches } from './components/Batches';
import { Checklist } from './components/Checklist';
import { Engineer } from './components/Engineer';
import { ErrorPanel } from './components/ErrorPanel';
import { FirmwareTable } from './components/FirmwareTable';
import { LoadProfile } from './components/LoadProfile';
import { LockProfile } from './components/LockProfile';
import { PinGate } from './components/PinGate';
import { ProfileSummary } from './components/ProfileSummary';
import { ReadyBanner } from './components/ReadyBanner';
import { StationScreen } from './components/StationScreen';
import { useStation } from './useStation';

type Session = ResponseOf<'session.get'>;
type State =
  | { kind: 'loading' }
  | { kind: 'error'; error: BridgeError }
  | { kind: 'none' }
  | { kind: 'profile'; data: ProfileWithReadiness };
type Tab = 'station' | 'batches' | 'engineer';

const TABS: readonly { id: Tab; label: string; key: string }[] = [
  { id: 'station', label: 'Station', key: 'F2' },
  { id: 'batches', label: 'Batches', key: 'F3' },
  { id: 'engineer', label: 'Engineer', key: 'F4' },
];

const asBridgeError = (e: unknown): BridgeError =>
  e instanceof BridgeError
    ? e
    : new BridgeError({ code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) });

const Shell = ({ bridge }: { bridge: LinestationBridge }) => {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [session, setSession] = useState<Session | undefined>();
  const [tab, setTab] = useState<Tab>('station');
  const station = useStation(bridge);

  const refresh = useCallback(async () => {
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
    void refresh();
    return bridge.on('profile.changed', (data) => setState({ kind: 'profile', data }));
  }, [bridge, refresh]);

  // F2/F3/F4 switch screens from anywhere: the keyboard-only path never needs the mouse.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const hit = TABS.find((t) => t.key === e.key);
      if (hit) {
        e.preventDefault();
        setTab(hit.id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const load = useCallback(
    async (path: string) => {
      const envelope = await bridge.invoke('profile.load', { path });
      if (envelope.ok) setState({ kind: 'profile', data: envelope.value });
      else throw new BridgeError(envelope.error);
    },
    [bridge],
  );

  const lock = useCallback(async () => {
    const envelope = await bridge.invoke('profile.lock', {});
    if (envelope.ok) setState({ kind: 'profile', data: envelope.value });
    else throw new BridgeError(envelope.error);
  }, [bridge]);

  const engineer = session?.role === 'engineer';
  const profile = state.kind === 'profile' ? state.data : undefined;

  // What the station tab shows while no batch runs: can this line run, and with what.
  const idle = (
    <>
      {state.kind === 'loading' && <p className="muted">Loading the station…</p>}
      {state.kind === 'error' && <ErrorPanel error={state.error} />}
      {state.kind === 'none' && (
        <section className="card">
          <h2>No product profile loaded</h2>
          <p className="muted">
            The station provisions nothing until an engineer loads a locked product profile.
          </p>
          {engineer && <LoadProfile onLoad={load} />}
        </section>
      )}
      {profile && (
        <>
          <ReadyBanner readiness={profile.readiness} />
          <div className="columns">
            <ProfileSummary profile={profile.profile} />
            <Checklist readiness={profile.readiness} />
          </div>
          <FirmwareTable files={profile.profile.firmware} />
          {engineer && !profile.profile.locked && <LockProfile onLock={lock} />}
          {engineer && <LoadProfile onLoad={load} />}
        </>
      )}
    </>
  );

  return (
    <main className="app">
      <header className="topbar">
        <h1>linestation</h1>
        <nav className="tabs" aria-label="Screens">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              className={`tab ${tab === t.id ? 'active' : ''}`}
              aria-current={tab === t.id ? 'page' : undefined}
              onClick={() => setTab(t.id)}
              data-testid={`tab-${t.id}`}
            >
              {t.label} <kbd>{t.key}</kbd>
            </button>
          ))}
        </nav>
        <div className="topbar-right">
          {session && (
            <span className={`role role-${session.role}`} data-testid="role">
              {engineer ? 'Engineer' : 'Operator'}
            </span>
          )}
          <button type="button" className="button" onClick={() => void refresh()} data-testid="refresh">
            Check again
          </button>
        </div>
      </header>
      {tab === 'station' && station.state && (
        <StationScreen
          bridge={bridge}
          state={station.state}
          profile={profile?.profile}
          onChange={station.onChange}
          apply={station.apply}
          idle={idle}
        />
      )}
      {tab === 'station' && !station.state && idle}
      {tab === 'batches' && <Batches bridge={bridge} />}
      {tab === 'engineer' &&
        (engineer ? (
          <Engineer
            bridge={bridge}
            profile={profile}
            onProfile={(data) => setState({ kind: 'profile', data })}
            onLocked={() => void refresh()}
          />
        ) : (
          session && <PinGate bridge={bridge} pinSet={session.pinSet} onUnlocked={() => void refresh()} />
        ))}
    </main>
  );
};

export const App = ({ bridge }: { bridge: LinestationBridge | undefined }) => {
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
  return <Shell bridge={bridge} />;
};

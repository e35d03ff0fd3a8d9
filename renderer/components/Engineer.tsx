import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type {
  AuditRow,
  LinestationBridge,
  ProfileWithReadiness,
  ResponseOf,
  SettingsView,
} from '../../core/contract/index';
import { BridgeError, errorText, unwrap } from '../bridge';
import { dateTime } from '../format';
import { Checklist } from './Checklist';
import { FirmwareTable } from './FirmwareTable';
import { InspectionTable } from './InspectionTable';
import { LabelPanel } from './LabelPanel';
import { LineDbPanel } from './LineDbPanel';
import { LoadProfile } from './LoadProfile';
import { LockProfile } from './LockProfile';
import { PathForm } from './PathForm';
import { ProfileEditor } from './ProfileEditor';

/** Pick a firmware file by path and see what the core reads in it, errors in words. */
const InspectFirmware = ({ bridge }: { bridge: LinestationBridge }) => {
  const [result, setResult] = useState<ResponseOf<'firmware.inspect'> | undefined>();
  const inspect = async (path: string) => {
    setResult(undefined);
    setResult(unwrap(await bridge.invoke('firmware.inspect', { path })));
  };
  return (
    <PathForm
      id="inspect-path"
      label="Inspect a firmware file"
      placeholder="/path/to/firmware.bin or .dfu"
      action="Inspect"
      errorTestId="inspect-error"
      onSubmit={inspect}
    >
      {result && <InspectionTable result={result} />}
    </PathForm>
  );
};

const CloudPanel = ({
  bridge,
  settings,
  onSettings,
}: {
  bridge: LinestationBridge;
  settings: SettingsView;
  onSettings: (s: SettingsView) => void;
}) => {
  const [token, setToken] = useState('');
  const [status, setStatus] = useState<string | undefined>();
  const [outbox, setOutbox] = useState<ResponseOf<'cloud.outbox'> | undefined>();
  const loadOutbox = useCallback(async () => {
    const r = await bridge.invoke('cloud.outbox', {});
    if (r.ok) setOutbox(r.value);
  }, [bridge]);
  useEffect(() => {
    void loadOutbox();
  }, [loadOutbox]);
  const run = async (fn: () => Promise<string>) => {
    setStatus('Working…');
    try {
      setStatus(await fn());
    } catch (e) {
      setStatus(errorText(e));
    }
    void loadOutbox();
  };
  return (
    <section className="card" aria-labelledby="cloud-title">
      <h2 id="cloud-title">Cloud</h2>
      <form
        className="load-row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            onSettings(unwrap(await bridge.invoke('cloud.setToken', { token })));
            setToken('');
            return 'Token stored.';
          });
        }}
      >
        <input
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder={
            settings.tokenStored ? 'a token is stored; type to replace it' : 'Particle access token'
          }
          aria-label="Particle access token"
          data-testid="token-input"
        />
        <button type="submit" className="button" disabled={token.trim().length < 8}>
          Save token
        </button>
      </form>
      <p className="muted">Kept in: {settings.tokenStorage}</p>
      <div className="export-row">
        <button
          type="button"
          className="button"
          data-testid="cloud-test"
          onClick={() => void run(async () => unwrap(await bridge.invoke('cloud.test', {})).message)}
        >
          Test connection
        </button>
        <button
          type="button"
          className="button"
          data-testid="cloud-sync"
          onClick={() => void run(async () => unwrap(await bridge.invoke('cloud.sync', {})).message)}
        >
          Sync outbox now
        </button>
      </div>
      {status && (
        <p role="status" data-testid="cloud-status">
          {status}
        </p>
      )}
      {outbox && (
        <>
          <p data-testid="outbox-counts">
            Outbox: {outbox.counts.pending} pending · {outbox.counts.done} done · {outbox.counts.failed}{' '}
            failed · {outbox.counts.blocked} blocked
          </p>
          <table className="firmware">
            <thead>
              <tr>
                <th>Device</th>
                <th>Action</th>
                <th>State</th>
                <th>Tries</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {outbox.entries.slice(0, 50).map((e) => (
                <tr key={e.id}>
                  <td className="hash">{e.deviceId}</td>
                  <td>{e.action}</td>
                  <td>{e.state}</td>
                  <td>{e.attempts}</td>
                  <td>{e.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
};

const StationPanel = ({
  bridge,
  settings,
  onSettings,
}: {
  bridge: LinestationBridge;
  settings: SettingsView;
  onSettings: (s: SettingsView) => void;
}) => {
  const [name, setName] = useState(settings.stationName);
  const [sharing, setSharing] = useState(String(settings.stationsSharingIp));
  const [labels, setLabels] = useState<Record<string, string>>({ ...settings.slotLabels });
  const [status, setStatus] = useState<string | undefined>();
  const scan = useCallback(async () => {
    const r = await bridge.invoke('usb.ports', {});
    if (!r.ok) return setStatus(errorText(new BridgeError(r.error)));
    // A device plugged into an unlabelled port shows up as a row to label: plugging is labelling.
    setLabels((prev) => {
      const next = { ...prev };
      for (const p of r.value) if (!(p.portPath in next)) next[p.portPath] = '';
      return next;
    });
    setStatus(`${r.value.length} device(s) attached.`);
  }, [bridge]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const slotLabels = Object.fromEntries(Object.entries(labels).filter(([, v]) => v.trim()));
      const stations = Number(sharing);
      onSettings(
        unwrap(
          await bridge.invoke('settings.update', {
            stationName: name,
            slotLabels,
            ...(Number.isInteger(stations) && stations >= 1 ? { stationsSharingIp: stations } : {}),
          }),
        ),
      );
      setStatus('Saved.');
    } catch (err) {
      setStatus(errorText(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} aria-labelledby="station-title">
      <h2 id="station-title">Station</h2>
      <label htmlFor="station-name">Station name</label>
      <input
        id="station-name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="station-name"
      />
      <label htmlFor="stations-sharing-ip">Stations sharing this public IP</label>
      <input
        id="stations-sharing-ip"
        type="number"
        min={1}
        max={1000}
        value={sharing}
        onChange={(e) => setSharing(e.target.value)}
        data-testid="stations-sharing-ip"
      />
      <p className="muted">
        The stations of the line that reach the Particle Cloud through the same router: each keeps to its
        share of the 10,000 requests per 5 minutes Particle allows one address. Applies from the next batch.
      </p>
      <h3>Slot labels by USB port</h3>
      <p className="muted">
        Plug a device into a port, press “Find plugged devices”, and give that port its label.
      </p>
      <table className="firmware">
        <tbody>
          {Object.entries(labels).map(([port, label]) => (
            <tr key={port}>
              <td className="hash">{port}</td>
              <td>
                <input
                  value={label}
                  aria-label={`Label for port ${port}`}
                  onChange={(e) => setLabels((l) => ({ ...l, [port]: e.target.value }))}
                  data-testid={`label-${port}`}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="export-row">
        <button type="button" className="button" onClick={() => void scan()} data-testid="find-ports">
          Find plugged devices
        </button>
        <button type="submit" className="button" data-testid="save-station">
          Save
        </button>
        {status && <span role="status">{status}</span>}
      </div>
    </form>
  );
};

const AuditPanel = ({ bridge }: { bridge: LinestationBridge }) => {
  const [rows, setRows] = useState<AuditRow[]>([]);
  useEffect(() => {
    bridge.invoke('audit.list', { limit: 100 }).then((r) => r.ok && setRows(r.value));
  }, [bridge]);
  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <table className="firmware" data-testid="audit-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.id}>
              <td>{dateTime(a.at)}</td>
              <td>{a.actor}</td>
              <td>{a.action}</td>
              <td className="hash">{JSON.stringify(a.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

export const Engineer = ({
  bridge,
  profile,
  onProfile,
  onLocked,
}: {
  bridge: LinestationBridge;
  profile: ProfileWithReadiness | undefined;
  onProfile: (p: ProfileWithReadiness) => void;
  onLocked: () => void;
}) => {
  const [settings, setSettings] = useState<SettingsView | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    bridge
      .invoke('settings.get', {})
      .then(unwrap)
      .then(setSettings, (e: unknown) => setError(errorText(e)));
  }, [bridge]);

  const load = async (path: string) => onProfile(unwrap(await bridge.invoke('profile.load', { path })));
  const lock = async () => onProfile(unwrap(await bridge.invoke('profile.lock', {})));
  const leave = async () => {
    await bridge.invoke('session.lock', {});
    onLocked();
  };

  return (
    <div className="engineer" data-testid="engineer">
      <div className="export-row">
        <h2 className="engineer-title">Engineer set-up</h2>
        <button type="button" className="button" onClick={() => void leave()} data-testid="engineer-lock">
          Leave engineer mode
        </button>
      </div>
      {error && <p className="remedy">{error}</p>}
      <section className="card">
        <h2>Product profile</h2>
        <p className="muted" data-testid="engineer-profile">
          {profile ? `${profile.profile.product.name} · ${profile.profile.path}` : 'No profile loaded.'}
        </p>
      </section>
      <LoadProfile onLoad={load} />
      <ProfileEditor bridge={bridge} current={profile} onSaved={onProfile} />
      {profile && (
        <>
          <Checklist readiness={profile.readiness} />
          <FirmwareTable files={profile.profile.firmware} />
          {!profile.profile.locked && <LockProfile onLock={lock} />}
        </>
      )}
      <LabelPanel bridge={bridge} profile={profile} onProfile={onProfile} />
      <InspectFirmware bridge={bridge} />
      {settings && <CloudPanel bridge={bridge} settings={settings} onSettings={setSettings} />}
      {settings && <LineDbPanel bridge={bridge} settings={settings} onSettings={setSettings} />}
      {settings && <StationPanel bridge={bridge} settings={settings} onSettings={setSettings} />}
      <AuditPanel bridge={bridge} />
    </div>
  );
};

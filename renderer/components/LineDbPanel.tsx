import { useCallback, useEffect, useState } from 'react';
import type { LinestationBridge, LineView, SettingsView } from '../../core/contract/index';
import { errorText, unwrap } from '../bridge';
import { dateTime } from '../format';

/**
 * The engineer's view of the line database: which environment variable holds its URL (never the
 * URL itself: it carries the password), the status line, a connection test, and what the line
 * database shows about this station (clock skew, another station with the same name).
 */
export const LineDbPanel = ({
  bridge,
  settings,
  onSettings,
}: {
  bridge: LinestationBridge;
  settings: SettingsView;
  onSettings: (s: SettingsView) => void;
}) => {
  const [envName, setEnvName] = useState(settings.lineDbEnv);
  const [view, setView] = useState<LineView | undefined>();
  const [result, setResult] = useState<{ ok: boolean; message: string; code?: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    const r = await bridge.invoke('line.status', {});
    if (r.ok) setView(r.value);
  }, [bridge]);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 2000);
    return () => clearInterval(t);
  }, [load]);
  const run = async (fn: () => Promise<{ ok: boolean; message: string; code?: string }>) => {
    setBusy(true);
    setResult(undefined);
    try {
      setResult(await fn());
    } catch (e) {
      setResult({ ok: false, message: errorText(e) });
    } finally {
      setBusy(false);
      void load();
    }
  };
  const st = view?.status;
  return (
    <section className="card" aria-labelledby="line-db-title" data-testid="line-db-panel">
      <h2 id="line-db-title">Line database</h2>
      <form
        className="load-row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            onSettings(unwrap(await bridge.invoke('settings.update', { lineDbEnv: envName })));
            return { ok: true, message: `The URL is read from $${envName.trim()} at the next batch start.` };
          });
        }}
      >
        <input
          value={envName}
          onChange={(e) => setEnvName(e.target.value)}
          aria-label="Environment variable holding the line database URL"
          data-testid="line-db-env"
          spellCheck={false}
        />
        <button type="submit" className="button" disabled={busy || envName.trim() === settings.lineDbEnv}>
          Save variable name
        </button>
      </form>
      <p className="muted">
        The URL (postgres://USER:PASSWORD@HOST:5432/DATABASE) is set in that variable in the station's
        environment; it is never stored here.
      </p>
      <p data-testid="line-db-line">{view?.line ?? '…'}</p>
      {view?.target && (
        <p className="muted" data-testid="line-db-target">
          {view.target}
        </p>
      )}
      {st && (
        <dl className="line-db-facts">
          <dt>Station ID</dt>
          <dd className="hash">{st.stationId}</dd>
          <dt>Last forwarded</dt>
          <dd>{st.lastForwardAt ? dateTime(st.lastForwardAt) : '–'}</dd>
          {st.error && (
            <>
              <dt>Error</dt>
              <dd data-testid="line-db-error">
                {st.error.code}: {st.error.message} {st.error.remedy ?? ''}
              </dd>
            </>
          )}
          {st.warnings.map((w) => (
            <div key={w.code}>
              <dt>{w.code}</dt>
              <dd data-testid={`line-db-warning-${w.code}`}>
                {w.message} {w.remedy ?? ''}
              </dd>
            </div>
          ))}
        </dl>
      )}
      <div className="export-row">
        <button
          type="button"
          className="button"
          data-testid="line-db-test"
          disabled={busy}
          onClick={() => void run(async () => unwrap(await bridge.invoke('line.test', {})))}
        >
          Test connection
        </button>
      </div>
      {result && (
        <p role="status" data-testid="line-db-result" data-ok={result.ok ? 'true' : 'false'}>
          {result.code ? `${result.code}: ` : ''}
          {result.message}
        </p>
      )}
    </section>
  );
};

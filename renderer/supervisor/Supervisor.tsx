import { memo, useEffect, useState } from 'react';
import type { GroupBy, GroupStats, StationState, UnitHistoryView } from '../../core/supervisor/types';
import { ParetoChart } from '../components/Charts';
import { StepTable } from '../components/StepTable';
import { dateTime, pct, STEP_WORDS } from '../format';
import { csvHref, fetchUnit } from './api';
import { useLine } from './useLine';

/*
 * The supervisor's page: every station and what it does now, the line's numbers and each
 * station's, operator's and lot's, a unit's whole history, and the line's attempts as CSV. It
 * reuses the station app's styles and charts; it only reads.
 */

const STALE_S = 30;

const ago = (s: number): string =>
  s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`;

const rate = (x: number) => (x > 0 ? x.toFixed(x >= 100 ? 0 : 1) : '–');

/** Re-renders its children's clock once a second (only the station cards need it). */
const useSecond = (): number => {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
};

const StationCard = ({ s, elapsedS }: { s: StationState; elapsedS: number }) => {
  const seen = s.lastSeenAgoS + elapsedS;
  const stale = seen > STALE_S;
  return (
    <article
      className={`sup-station ${s.runningLot ? 'sup-running' : 'sup-idle'} ${stale ? 'sup-stale' : ''}`}
      data-testid="station-card"
      data-station={s.name}
    >
      <header>
        <strong className="sup-station-name">{s.name}</strong>
        <span className="sup-badge" data-testid="station-state">
          {s.runningLot
            ? `▶ RUNNING ${s.runningLot}`
            : `■ IDLE${s.lastLot ? ` (${s.lastLot} ${s.lastBatchState})` : ''}`}
        </span>
      </header>
      <dl className="facts inline sup-facts">
        <dt>Slots busy</dt>
        <dd data-testid="station-busy">{s.slotsBusy}</dd>
        <dt>Operator</dt>
        <dd>{s.operator ?? '–'}</dd>
        <dt>Last seen</dt>
        <dd data-testid="station-seen" className={stale ? 'sup-warn' : ''}>
          {stale ? '⚠ ' : ''}
          {ago(Math.round(seen))}
        </dd>
        <dt>Backlog</dt>
        <dd data-testid="station-behind" className={s.behind > 0 ? 'sup-warn' : ''}>
          {s.behind === 0 ? 'none' : `${s.behind} record${s.behind === 1 ? '' : 's'} behind`}
        </dd>
        {s.clockSkewMs !== null && Math.abs(s.clockSkewMs) > 120_000 && (
          <>
            <dt>Clock</dt>
            <dd className="sup-warn">⚠ {Math.round(s.clockSkewMs / 60_000)} min off</dd>
          </>
        )}
      </dl>
    </article>
  );
};

const Stations = ({ stations, at }: { stations: readonly StationState[]; at: number }) => {
  const now = useSecond();
  const elapsedS = Math.max(0, (now - at) / 1000);
  return (
    <section className="card">
      <h2>Stations ({stations.length})</h2>
      {stations.length === 0 && <p className="muted">No station has forwarded to this line database yet.</p>}
      <div className="sup-stations">
        {stations.map((s) => (
          <StationCard key={s.stationId} s={s} elapsedS={elapsedS} />
        ))}
      </div>
    </section>
  );
};

const Totals = memo(({ t, stations }: { t: GroupStats; stations: number }) => (
  <section className="station-header sup-totals" data-testid="line-totals">
    <div>
      <div className="station-product-name">The line</div>
      <div className="station-sub">
        {stations} station{stations === 1 ? '' : 's'} · last activity {dateTime(t.lastActivityAt)}
      </div>
    </div>
    <dl className="station-stats sup-stats">
      <div>
        <dt>Attempts</dt>
        <dd data-testid="total-attempts">{t.attempts}</dd>
      </div>
      <div className="stat-pass">
        <dt>Passed</dt>
        <dd data-testid="total-passed">{t.passed}</dd>
      </div>
      <div className="stat-fail">
        <dt>Failed</dt>
        <dd data-testid="total-failed">{t.failed}</dd>
      </div>
      <div>
        <dt>Units</dt>
        <dd data-testid="total-units">{t.units}</dd>
      </div>
      <div>
        <dt>Yield</dt>
        <dd data-testid="total-yield">{t.units > 0 ? pct(t.yield) : '–'}</dd>
      </div>
      <div>
        <dt>First-pass</dt>
        <dd data-testid="total-fpy">{t.firstUnits > 0 ? pct(t.firstPassYield) : '–'}</dd>
      </div>
      <div>
        <dt>Devices/h</dt>
        <dd data-testid="total-rate">{rate(t.devicesPerHour)}</dd>
      </div>
    </dl>
  </section>
));

/** One row; an update replaces only the rows it changed, so the others are not rendered again. */
const GroupRow = memo(
  ({ g, selected, onSelect }: { g: GroupStats; selected: boolean; onSelect: (key: string) => void }) => (
    <tr
      className={selected ? 'selected' : ''}
      tabIndex={0}
      data-testid="group-row"
      data-key={g.label}
      onClick={() => onSelect(g.key)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onSelect(g.key);
        }
      }}
    >
      <td>{g.label}</td>
      <td>{g.attempts}</td>
      <td>{g.passed}</td>
      <td>{g.failed}</td>
      <td>{g.units}</td>
      <td>{g.units > 0 ? pct(g.yield) : '–'}</td>
      <td>{g.firstUnits > 0 ? pct(g.firstPassYield) : '–'}</td>
      <td>{rate(g.devicesPerHour)}</td>
      <td>{dateTime(g.lastActivityAt)}</td>
    </tr>
  ),
);

const GroupTable = memo(
  ({
    by,
    rows,
    selected,
    onSelect,
  }: {
    by: GroupBy;
    rows: readonly GroupStats[];
    selected: string | undefined;
    onSelect: (key: string) => void;
  }) => (
    <table className="firmware sup-groups" data-testid="group-table">
      <thead>
        <tr>
          <th>{by === 'station' ? 'Station' : by === 'operator' ? 'Operator' : 'Lot'}</th>
          <th>Attempts</th>
          <th>Passed</th>
          <th>Failed</th>
          <th>Units</th>
          <th>Yield</th>
          <th>First-pass yield</th>
          <th>Devices/h</th>
          <th>Last activity</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((g) => (
          <GroupRow key={g.key} g={g} selected={g.key === selected} onSelect={onSelect} />
        ))}
      </tbody>
    </table>
  ),
);

const Detail = memo(({ g, by }: { g: GroupStats; by: GroupBy | 'line' }) => (
  <div className="sup-detail" data-testid="group-detail">
    <h3>
      {by === 'line' ? 'The line' : g.label}
      {by === 'lot' && (
        <a className="button sup-link" href={csvHref(g.key)} download data-testid="export-lot">
          Export this lot (CSV)
        </a>
      )}
    </h3>
    <div className="charts">
      {g.pareto.length > 0 ? <ParetoChart pareto={[...g.pareto]} /> : <p className="muted">No failures.</p>}
      <StepTable stepMs={g.stepMs} name={(step) => STEP_WORDS[step] ?? step} />
    </div>
  </div>
));

const UnitLookup = () => {
  const [q, setQ] = useState('');
  const [result, setResult] = useState<UnitHistoryView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const search = () => {
    if (q.trim() === '') return;
    setError(undefined);
    fetchUnit(q).then(setResult, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  return (
    <section className="card">
      <h2>Unit lookup</h2>
      <div className="load-row">
        <input
          data-testid="unit-input"
          aria-label="Device ID, label serial, serial number or ICCID"
          placeholder="Device ID, label serial, serial number or ICCID"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') search();
          }}
        />
        <button type="button" className="button" data-testid="unit-search" onClick={search}>
          Look up
        </button>
      </div>
      {error && <p className="remedy">{error}</p>}
      {result && (
        <div data-testid="unit-result">
          {result.matchedBy === null ? (
            <p className="muted">Nothing on the line matches “{result.query}”.</p>
          ) : (
            <p data-testid="unit-summary">
              {result.deviceIds.join(', ')} (by{' '}
              {result.matchedBy === 'device' ? 'device ID' : result.matchedBy}): {result.attempts.length}{' '}
              attempt{result.attempts.length === 1 ? '' : 's'}
              {result.claim &&
                ` · being provisioned at ${result.claim.station} since ${dateTime(result.claim.since)}`}
            </p>
          )}
          {result.attempts.length > 0 && (
            <table className="firmware">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Station</th>
                  <th>Lot</th>
                  <th>Slot</th>
                  <th>Try</th>
                  <th>Operator</th>
                  <th>Result</th>
                  <th>Error</th>
                  <th>Label</th>
                  <th>Registration</th>
                </tr>
              </thead>
              <tbody>
                {result.attempts.map((a) => (
                  <tr
                    key={`${a.stationId}:${a.attemptId}`}
                    data-testid="unit-attempt"
                    className={`result-${a.result}`}
                  >
                    <td>{dateTime(a.startedAt)}</td>
                    <td>{a.station}</td>
                    <td>{a.lot}</td>
                    <td>{a.slot ?? ''}</td>
                    <td>{a.tryNumber ?? ''}</td>
                    <td>{a.operator ?? ''}</td>
                    <td className="attempt-result">{a.result.toUpperCase()}</td>
                    <td title={a.errorMessage ?? ''}>{a.errorCode ?? ''}</td>
                    <td>{a.labelSerial ?? ''}</td>
                    <td>{a.registrationState ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {result.registrations.length > 0 && (
            <p className="muted">
              Registrations:{' '}
              {result.registrations
                .map((r) => `${r.action} ${r.state} at ${r.station} (product ${r.productId})`)
                .join('; ')}
            </p>
          )}
        </div>
      )}
    </section>
  );
};

const TABS: readonly { by: GroupBy; title: string }[] = [
  { by: 'station', title: 'By station' },
  { by: 'operator', title: 'By operator' },
  { by: 'lot', title: 'By lot' },
];

export const Supervisor = () => {
  const line = useLine();
  const [tab, setTab] = useState<GroupBy>('station');
  const [selected, setSelected] = useState<string | undefined>();
  const { loadGroups } = line;
  useEffect(() => {
    if (tab !== 'station') loadGroups(tab);
  }, [tab, loadGroups]);

  const rows = line.groups[tab];
  const chosen = selected ? rows?.find((g) => g.key === selected) : undefined;
  return (
    <div className="app sup-app" data-testid="supervisor" data-loads={line.loads}>
      <header className="topbar">
        <h1>linestation · line supervisor</h1>
        <div className="topbar-right">
          <a className="button sup-link" href={csvHref()} download data-testid="export-csv">
            Export attempts (CSV)
          </a>
          <span className={`role sup-live sup-live-${line.live}`} data-testid="live-state">
            {line.live === 'live' ? '● live' : line.live === 'connecting' ? 'connecting…' : '○ reconnecting…'}
          </span>
        </div>
      </header>
      {line.error && (
        <section className="card error">
          <p className="remedy" data-testid="error">
            {line.error}
          </p>
        </section>
      )}
      {line.state?.database.state === 'lost' && (
        <section className="card error" data-testid="database-lost">
          <p className="remedy">
            The line database cannot be reached since {dateTime(line.state.database.since)}
            {line.state.database.error ? ` (${line.state.database.error.code})` : ''}. The numbers below are
            from before then; they update again by themselves when it is back.
          </p>
        </section>
      )}
      {!line.state ? (
        <p className="muted">Loading the line…</p>
      ) : (
        <>
          <Totals t={line.state.totals} stations={line.state.stations.length} />
          <Stations stations={line.state.stations} at={line.stationsAt} />
          <section className="card">
            <div className="tabs" role="tablist">
              {TABS.map((t) => (
                <button
                  key={t.by}
                  type="button"
                  role="tab"
                  aria-selected={tab === t.by}
                  className={`tab ${tab === t.by ? 'active' : ''}`}
                  data-testid={`tab-${t.by}`}
                  onClick={() => {
                    setTab(t.by);
                    setSelected(undefined);
                  }}
                >
                  {t.title}
                </button>
              ))}
            </div>
            {rows ? (
              <GroupTable by={tab} rows={rows} selected={selected} onSelect={setSelected} />
            ) : (
              <p className="muted">Loading…</p>
            )}
            {chosen ? <Detail g={chosen} by={tab} /> : <Detail g={line.state.totals} by="line" />}
          </section>
          <UnitLookup />
        </>
      )}
    </div>
  );
};

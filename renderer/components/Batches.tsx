import { memo, useCallback, useEffect, useState } from 'react';
import type { BatchReport, BatchSummary, LinestationBridge } from '../../core/contract/index';
import { BridgeError, unwrap } from '../bridge';
import { dateTime, modeBadge, pct } from '../format';
import { AttemptList } from './AttemptList';
import { DurationChart, ParetoChart, YieldChart } from './Charts';
import { LabelJobs } from './LabelJobs';
import { StepTable } from './StepTable';

/** Saves text the core returned, where there is no save dialog (the browser bridge). */
const download = (name: string, content: string, type: string) => {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
};

const BatchDetail = ({ bridge, lot }: { bridge: LinestationBridge; lot: string }) => {
  const [report, setReport] = useState<BatchReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [exported, setExported] = useState<string | undefined>();

  useEffect(() => {
    setReport(undefined);
    setExported(undefined);
    bridge
      .invoke('batch.report', { lot })
      .then(unwrap)
      .then(setReport, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [bridge, lot]);

  const exportAs = async (format: 'csv' | 'json') => {
    setExported(undefined);
    let r = await bridge.invoke('batch.export', { lot, format, dialog: true });
    if (!r.ok && r.error.code === 'NO_SAVE_DIALOG') {
      r = await bridge.invoke('batch.export', { lot, format });
      if (r.ok && r.value.content !== undefined)
        download(`${lot}.${format}`, r.value.content, format === 'csv' ? 'text/csv' : 'application/json');
    }
    if (r.ok) setExported(`Exported ${r.value.rows} attempt(s)${r.value.path ? ` to ${r.value.path}` : ''}.`);
    else if (r.error.code !== 'EXPORT_CANCELLED') setExported(new BridgeError(r.error).message);
  };

  if (error) return <p className="remedy">{error}</p>;
  if (!report) return <p className="muted">Loading {lot}…</p>;
  const b = report.batch;
  return (
    <section className="card batch-detail" data-testid="batch-detail">
      <h2>
        Lot {b.lot}{' '}
        <span className="muted">
          · {b.productName} · {modeBadge(b.mode)} · {b.state}
        </span>
      </h2>
      <dl className="facts inline">
        <dt>Operator</dt>
        <dd>{b.operator}</dd>
        <dt>Station</dt>
        <dd>{b.station}</dd>
        <dt>Started</dt>
        <dd>{dateTime(b.startedAt)}</dd>
        <dt>Passed / devices</dt>
        <dd data-testid="detail-counts">
          {b.passed} / {b.devices}
        </dd>
        <dt>Yield</dt>
        <dd>{pct(b.yield)}</dd>
        <dt>First-pass yield</dt>
        <dd>{pct(report.firstPassYield)}</dd>
        <dt>Attempts</dt>
        <dd>{b.attempts}</dd>
      </dl>
      <div className="export-row">
        <button
          type="button"
          className="button"
          onClick={() => void exportAs('csv')}
          data-testid="export-csv"
        >
          Export CSV
        </button>
        <button
          type="button"
          className="button"
          onClick={() => void exportAs('json')}
          data-testid="export-json"
        >
          Export JSON
        </button>
        {exported && (
          <span role="status" data-testid="export-result">
            {exported}
          </span>
        )}
      </div>
      <div className="charts">
        <YieldChart series={report.yieldSeries} />
        <ParetoChart pareto={report.pareto} />
        <DurationChart histogram={report.durationHistogram} />
      </div>
      <StepTable stepMs={report.stepMs} />
      <LabelJobs bridge={bridge} lot={lot} />
      <AttemptList bridge={bridge} lot={lot} total={b.attempts} />
    </section>
  );
};

/** Memoized: the station's 4 Hz snapshots re-render the shell, not this screen. */
export const Batches = memo(({ bridge }: { bridge: LinestationBridge }) => {
  const [batches, setBatches] = useState<BatchSummary[] | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    try {
      const list = unwrap(await bridge.invoke('batch.list', {}));
      setBatches(list);
      setSelected((s) => s ?? list[0]?.lot);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [bridge]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <div className="batches">
      <section className="card">
        <h2>Batches</h2>
        {error && <p className="remedy">{error}</p>}
        {batches?.length === 0 && <p className="muted">No batch has run on this station yet.</p>}
        <table className="firmware batch-list" data-testid="batch-list">
          <thead>
            <tr>
              <th>Lot</th>
              <th>Product</th>
              <th>State</th>
              <th>Passed</th>
              <th>Failed</th>
              <th>Yield</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {batches?.map((b) => (
              <tr
                key={b.id}
                className={b.lot === selected ? 'selected' : ''}
                tabIndex={0}
                onClick={() => setSelected(b.lot)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setSelected(b.lot);
                  }
                }}
                data-testid="batch-row"
              >
                <td>{b.lot}</td>
                <td>{b.productName}</td>
                <td>{b.state}</td>
                <td>{b.passed}</td>
                <td>{b.failed}</td>
                <td>{b.devices > 0 ? pct(b.yield) : '–'}</td>
                <td>{dateTime(b.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {selected && <BatchDetail bridge={bridge} lot={selected} />}
    </div>
  );
});

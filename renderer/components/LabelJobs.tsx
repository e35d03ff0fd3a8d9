import { useCallback, useEffect, useState } from 'react';
import type { LinestationBridge, ResponseOf } from '../../core/contract/index';
import { errorText, unwrap } from '../bridge';
import { dateTime } from '../format';

/**
 * A batch's printed labels in the batch view: counts, the newest jobs with their state, and
 * Reprint (the operator's, audited with the name typed here).
 */
export const LabelJobs = ({ bridge, lot }: { bridge: LinestationBridge; lot: string }) => {
  const [data, setData] = useState<ResponseOf<'label.jobs'> | undefined>();
  const [by, setBy] = useState(() => localStorage.getItem('linestation.operator') ?? '');
  const [status, setStatus] = useState<string | undefined>();
  const load = useCallback(async () => {
    const r = await bridge.invoke('label.jobs', { lot, limit: 200 });
    if (r.ok) setData(r.value);
  }, [bridge, lot]);
  useEffect(() => {
    setData(undefined);
    setStatus(undefined);
    void load();
  }, [load]);

  const reprint = async (attemptId: number) => {
    const who = by.trim();
    if (!who) {
      setStatus('Type your name first: every reprint is recorded with it.');
      return;
    }
    try {
      const r = unwrap(await bridge.invoke('label.reprint', { attemptId, by: who }));
      setStatus(
        `Reprint of ${r.job.deviceId}'s label queued (job ${r.job.id}); ${r.printsNow ? 'it prints now' : 'it prints when the next batch starts on this station'}.`,
      );
    } catch (e) {
      setStatus(errorText(e));
    }
    void load();
  };

  if (!data) return null;
  const { counts, jobs } = data;
  if (counts.pending + counts.printed + counts.failed === 0) return null;
  return (
    <section className="card" aria-labelledby="labels-title" data-testid="label-jobs">
      <h3 id="labels-title">Labels</h3>
      <p data-testid="label-counts">
        {counts.printed} printed · {counts.pending} pending · {counts.failed} not printable
      </p>
      <div className="load-row">
        <label htmlFor="reprint-by">Reprint as</label>
        <input
          id="reprint-by"
          value={by}
          onChange={(e) => setBy(e.target.value)}
          placeholder="your name"
          data-testid="reprint-by"
        />
        <button type="button" className="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {status && (
        <p role="status" data-testid="reprint-status">
          {status}
        </p>
      )}
      <table className="firmware">
        <thead>
          <tr>
            <th>Device</th>
            <th>Label</th>
            <th>Job</th>
            <th>State</th>
            <th>Tries</th>
            <th>Where / last problem</th>
            <th>Scan</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-testid="label-job">
              <td className="hash">{j.deviceId}</td>
              <td className="hash">{j.content}</td>
              <td>{j.kind === 'reprint' ? `reprint by ${j.requestedBy ?? '?'}` : 'print'}</td>
              <td>{j.state}</td>
              <td>{j.tries}</td>
              <td title={j.lastErrorMessage ?? ''}>
                {j.state === 'printed'
                  ? `${j.output ?? ''} ${dateTime(j.printedAt)}${j.maybePrinted ? ' (a spare may have printed)' : ''}`
                  : (j.lastErrorCode ?? '')}
              </td>
              <td>{j.verified ?? ''}</td>
              <td>
                {j.kind === 'print' && (
                  <button
                    type="button"
                    className="button"
                    onClick={() => void reprint(j.attemptId)}
                    data-testid={`reprint-${j.attemptId}`}
                  >
                    Reprint
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

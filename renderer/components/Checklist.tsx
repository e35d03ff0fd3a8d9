import type { Readiness, ReadinessStatus } from '../../core/contract/index';

const MARK: Record<ReadinessStatus, string> = { ok: '✔', fail: '✖', pending: '…', unknown: '?' };
const WORD: Record<ReadinessStatus, string> = {
  ok: 'OK',
  fail: 'FAIL',
  pending: 'PENDING',
  unknown: 'UNKNOWN',
};

export const Checklist = ({ readiness }: { readiness: Readiness }) => (
  <section className="card" aria-labelledby="checklist-title">
    <h2 id="checklist-title">Readiness checklist</h2>
    <ul className="checklist" data-testid="checklist">
      {readiness.items.map((item) => (
        <li
          key={item.id}
          className={`check check-${item.status}`}
          data-testid={`check-${item.id}`}
          data-status={item.status}
        >
          <span className="check-mark" aria-hidden="true">
            {MARK[item.status]}
          </span>
          <div className="check-body">
            <div className="check-title">
              {item.title} <span className="check-word">{WORD[item.status]}</span>
            </div>
            <div className="check-message">{item.message}</div>
            {!item.ok && item.remedy && <div className="remedy">{item.remedy}</div>}
          </div>
        </li>
      ))}
    </ul>
  </section>
);

import type { LogLine } from '../../core/contract/index';
import { clock } from '../format';

const MARK: Record<LogLine['level'], string> = { info: '·', pass: '✓', fail: '✗', warn: '!' };

/** Newest first, so the latest thing that happened is where the eye lands. */
export const EventLog = ({ lines }: { lines: readonly LogLine[] }) => (
  <section className="card event-log" aria-label="Event log">
    <h2>Event log</h2>
    <ol data-testid="event-log" aria-live="polite">
      {[...lines].reverse().map((l) => (
        <li key={l.seq} className={`log-${l.level}`}>
          <time>{clock(l.at)}</time>
          <span className="log-mark" aria-hidden="true">
            {MARK[l.level]}
          </span>
          <span>{l.text}</span>
        </li>
      ))}
    </ol>
  </section>
);

import { memo } from 'react';
import type { LogLine } from '../../core/contract/index';
import { clock } from '../format';

const MARK: Record<LogLine['level'], string> = { info: '·', pass: '✓', fail: '✗', warn: '!' };

/** A line never changes once logged, so it renders once. */
const Line = memo(
  ({ line }: { line: LogLine }) => (
    <li className={`log-${line.level}`}>
      <time>{clock(line.at)}</time>
      <span className="log-mark" aria-hidden="true">
        {MARK[line.level]}
      </span>
      <span>{line.text}</span>
    </li>
  ),
  (a, b) => a.line.seq === b.line.seq,
);

/** Newest first, so the latest thing that happened is where the eye lands. */
const EventLogView = ({ lines }: { lines: readonly LogLine[] }) => (
  <section className="card event-log" aria-label="Event log">
    <h2>Event log</h2>
    <ol data-testid="event-log" aria-live="polite">
      {[...lines].reverse().map((l) => (
        <Line key={l.seq} line={l} />
      ))}
    </ol>
  </section>
);

/** The log only grows at its end (seq rises), so the newest seq and the length say whether it changed. */
export const EventLog = memo(
  EventLogView,
  (a, b) => a.lines.length === b.lines.length && a.lines.at(-1)?.seq === b.lines.at(-1)?.seq,
);

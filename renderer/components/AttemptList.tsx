import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import type { AttemptRow, LinestationBridge } from '../../core/contract/index';
import { dateTime } from '../format';

const PAGE = 250;
const ROW_HEIGHT = 36;

/** One row; memoized so scrolling re-renders only rows that moved in or got their data. */
const Row = memo(({ row, start }: { row: AttemptRow | undefined; start: number }) => (
  <div
    className={`attempt-row result-${row?.result ?? 'loading'}`}
    data-testid="attempt-row"
    style={{
      position: 'absolute',
      top: 0,
      left: 0,
      right: 0,
      height: ROW_HEIGHT,
      transform: `translateY(${start}px)`,
    }}
  >
    {row ? (
      <>
        <span>{row.id}</span>
        <span className="attempt-result">{row.result.toUpperCase()}</span>
        <span className="mono">{row.deviceId ?? '–'}</span>
        <span
          className="mono"
          data-testid="attempt-serial"
          title={[row.imei ? `IMEI ${row.imei}` : '', row.deviceOs ? `Device OS ${row.deviceOs}` : '']
            .filter(Boolean)
            .join(', ')}
        >
          {row.serialNumber ?? ''}
        </span>
        <span className="mono">{row.iccid ?? ''}</span>
        <span>{row.slot}</span>
        <span>{row.tryNumber}</span>
        <span>
          {row.labelSerial ??
            (row.labelState ? `${row.labelState}${row.labelVerified ? `, ${row.labelVerified}` : ''}` : '')}
        </span>
        <span title={row.errorMessage ?? ''}>
          {row.errorCode ?? (row.registrationState === 'sim-failed' ? 'SIM refused (sim-failed)' : '')}
        </span>
        <span>{dateTime(row.finishedAt)}</span>
      </>
    ) : (
      <span className="muted">…</span>
    )}
  </div>
));

/**
 * Every attempt of a batch in a virtualized list: only the rows on screen exist in the DOM and
 * only the pages around them are fetched, so 100,000 attempts scroll like 100.
 */
export const AttemptList = ({
  bridge,
  lot,
  total,
}: {
  bridge: LinestationBridge;
  lot: string;
  total: number;
}) => {
  const parentRef = useRef<HTMLDivElement>(null);
  const [pages, setPages] = useState<ReadonlyMap<number, readonly AttemptRow[]>>(new Map());
  const loading = useRef(new Set<number>());

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new lot must drop the old lot's pages.
  useEffect(() => {
    setPages(new Map());
    loading.current.clear();
  }, [lot]);

  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    // Let React batch scroll updates into the next frame instead of committing synchronously in
    // every scroll event (several per frame under a fast wheel).
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();

  const load = useCallback(
    async (page: number) => {
      if (loading.current.has(page)) return;
      loading.current.add(page);
      const r = await bridge.invoke('batch.attempts', { lot, offset: page * PAGE, limit: PAGE });
      if (r.ok) setPages((prev) => new Map(prev).set(page, r.value.rows));
      else loading.current.delete(page);
    },
    [bridge, lot],
  );

  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) if (!pages.has(p)) void load(p);
  }, [first, last, pages, load]);

  return (
    <div className="attempts">
      <div className="attempt-row attempt-head">
        <span>#</span>
        <span>Result</span>
        <span>Device ID</span>
        <span>Serial</span>
        <span>ICCID</span>
        <span>Slot</span>
        <span>Try</span>
        <span>Label</span>
        <span>Error</span>
        <span>Finished</span>
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling list must take focus so arrow keys and PageDown scroll it (keyboard-only path). */}
      <div ref={parentRef} className="attempt-scroll" data-testid="attempt-scroll" tabIndex={0}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((v) => {
            const row = pages.get(Math.floor(v.index / PAGE))?.[v.index % PAGE];
            return <Row key={v.key} row={row} start={v.start} />;
          })}
        </div>
      </div>
    </div>
  );
};

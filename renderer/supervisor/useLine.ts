import { useCallback, useEffect, useRef, useState } from 'react';
import type {
  DatabaseLink,
  GroupBy,
  GroupStats,
  LineState,
  LineUpdate,
  StationState,
} from '../../core/supervisor/types';
import { fetchState, fetchStats } from './api';

export type Live = 'connecting' | 'live' | 'reconnecting';

export interface LineView {
  readonly state: LineState | undefined;
  readonly groups: Readonly<Partial<Record<GroupBy, readonly GroupStats[]>>>;
  readonly live: Live;
  readonly error: string | undefined;
  /** Times the page loaded its state (the first load, then each reconnect or reset). */
  readonly loads: number;
  /** When the station list arrived (ms, this page's clock): "last seen" counts on from there. */
  readonly stationsAt: number;
  readonly loadGroups: (by: GroupBy) => void;
}

/** As many lots as /api/stats?by=lot gives by default (core/supervisor/model.ts DEFAULT_LOT_LIMIT). */
const LOT_ROWS = 100;

const byLabel = (a: GroupStats, b: GroupStats) =>
  a.label.localeCompare(b.label) || a.key.localeCompare(b.key);
const byRecent = (a: GroupStats, b: GroupStats) =>
  (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? '') || a.key.localeCompare(b.key);

/** Rows replaced by key (new ones added), in the order the server sorts them. */
const merge = (by: GroupBy, rows: readonly GroupStats[], changed: readonly GroupStats[]): GroupStats[] => {
  if (changed.length === 0) return [...rows];
  const next = new Map(rows.map((r) => [r.key, r]));
  for (const c of changed) next.set(c.key, c);
  const sorted = [...next.values()].sort(by === 'lot' ? byRecent : byLabel);
  // The server lists the newest lots only; a long-open page keeps to the same number.
  return by === 'lot' ? sorted.slice(0, Math.max(LOT_ROWS, rows.length)) : sorted;
};

/**
 * The line, live. The state is loaded on every 'hello' of the event stream: the first one, and
 * each one after a reconnect, since updates sent while the stream was down are gone (NOTIFY does
 * not replay, and neither does the server). Updates that arrive while a load is in flight wait
 * and are applied on top of it when they are newer; whole rows replace rows by key, so an update
 * costs a few rows of work, never a reload.
 */
export const useLine = (): LineView => {
  const [state, setState] = useState<LineState | undefined>();
  const [groups, setGroups] = useState<Partial<Record<GroupBy, GroupStats[]>>>({});
  const [live, setLive] = useState<Live>('connecting');
  const [error, setError] = useState<string | undefined>();
  const [loads, setLoads] = useState(0);
  const [stationsAt, setStationsAt] = useState(0);
  const version = useRef(-1);
  const loading = useRef(0);
  const waiting = useRef<LineUpdate[]>([]);
  const shown = useRef<Set<GroupBy>>(new Set());

  const apply = useCallback((u: LineUpdate) => {
    if (u.version <= version.current) return;
    version.current = u.version;
    setStationsAt(performance.now());
    setState((s) =>
      s
        ? {
            ...s,
            version: u.version,
            generatedAt: u.generatedAt,
            stations: u.stations,
            totals: u.totals,
            byStation: merge('station', s.byStation, u.changed.station),
          }
        : s,
    );
    setGroups((g) => {
      const next: Partial<Record<GroupBy, GroupStats[]>> = { ...g };
      for (const by of ['station', 'operator', 'lot'] as const) {
        const rows = g[by];
        if (rows && u.changed[by].length > 0) next[by] = merge(by, rows, u.changed[by]);
      }
      return next;
    });
  }, []);

  const loadGroups = useCallback((by: GroupBy) => {
    shown.current.add(by);
    fetchStats(by).then(
      (s) => setGroups((g) => ({ ...g, [by]: [...s.groups] })),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, []);

  const reload = useCallback(async () => {
    loading.current++;
    try {
      const s = await fetchState();
      const others = await Promise.all(
        [...shown.current]
          .filter((by) => by !== 'station')
          .map(async (by) => [by, await fetchStats(by)] as const),
      );
      version.current = s.version;
      setState(s);
      setStationsAt(performance.now());
      setGroups(
        Object.fromEntries([['station', [...s.byStation]], ...others.map(([by, r]) => [by, [...r.groups]])]),
      );
      setError(undefined);
      setLoads((n) => n + 1);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      loading.current--;
      if (loading.current === 0) {
        const queued = waiting.current;
        waiting.current = [];
        for (const u of queued) apply(u);
      }
    }
  }, [apply]);

  useEffect(() => {
    const es = new EventSource('/api/events');
    es.addEventListener('hello', () => {
      setLive('live');
      void reload();
    });
    es.addEventListener('reset', () => void reload());
    es.addEventListener('update', (e) => {
      const u = JSON.parse((e as MessageEvent<string>).data) as LineUpdate;
      if (loading.current > 0) waiting.current.push(u);
      else apply(u);
    });
    es.addEventListener('stations', (e) => {
      const s = JSON.parse((e as MessageEvent<string>).data) as { version: number; stations: StationState[] };
      setStationsAt(performance.now());
      setState((st) => (st ? { ...st, stations: s.stations } : st));
    });
    es.addEventListener('database', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as DatabaseLink;
      setState((st) => (st ? { ...st, database: d } : st));
    });
    es.onerror = () => setLive('reconnecting');
    return () => es.close();
  }, [reload, apply]);

  return { state, groups, live, error, loads, stationsAt, loadGroups };
};

import type { GroupBy, LineState, LineStats, UnitHistoryView } from '../../core/supervisor/types';

/*
 * The page's only way to the line: its own server's JSON API (same origin). Answers are the
 * server's own types (core/supervisor/types.ts); a failed request becomes an Error with the
 * server's sentence.
 */

const getJson = async <T>(path: string): Promise<T> => {
  const r = await fetch(path, { cache: 'no-store' });
  const body: unknown = await r.json().catch(() => undefined);
  if (!r.ok) {
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : `The server answered ${r.status}.`;
    throw new Error(message);
  }
  return body as T;
};

export const fetchState = () => getJson<LineState>('/api/state');
export const fetchStats = (by: GroupBy) => getJson<LineStats>(`/api/stats?by=${by}`);
export const fetchUnit = (q: string) => getJson<UnitHistoryView>(`/api/unit/${encodeURIComponent(q)}`);
export const csvHref = (lot?: string) => `/api/attempts.csv${lot ? `?lot=${encodeURIComponent(lot)}` : ''}`;

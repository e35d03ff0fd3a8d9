import { STEPS } from '../store/records';
import { type Histogram, histogramPercentiles, mergeInto } from './histogram';
import type { Counts, Distinct, Grain, LotPart } from './queries';
import type {
  DatabaseLink,
  GroupBy,
  GroupStats,
  LineReport,
  LineState,
  LineStats,
  LineUpdate,
  ParetoEntry,
  Percentiles,
  StationState,
} from './types';

/*
 * The line as the supervisor holds it in memory: per lot, the few rows loadLots returns. Every
 * view (the line, a station, an operator, a lot) is summed from them, so a change in one lot
 * costs one lot's reload in PostgreSQL and a sum over a few hundred grains here, never a pass
 * over a million attempts. Sums are cached per version.
 */

const HOUR = 3_600_000;

interface Acc {
  counts: Counts;
  units: number;
  unitsPassed: number;
  spanMs: number;
  firstUnits: number;
  firstPassed: number;
  last: number;
  stations: Set<string>;
  pareto: Map<string, number>;
  steps: Map<string, { hist: Histogram; max: number }>;
}

const newAcc = (): Acc => ({
  counts: { attempts: 0, passed: 0, failed: 0, interrupted: 0, skipped: 0, running: 0 },
  units: 0,
  unitsPassed: 0,
  spanMs: 0,
  firstUnits: 0,
  firstPassed: 0,
  last: 0,
  stations: new Set(),
  pareto: new Map(),
  steps: new Map(),
});

const addGrain = (a: Acc, g: Grain) => {
  for (const k of Object.keys(a.counts) as (keyof Counts)[]) a.counts[k] += g.counts[k];
  a.firstUnits += g.firstUnits;
  a.firstPassed += g.firstPassed;
  a.stations.add(g.stationId);
  for (const [code, n] of g.pareto) a.pareto.set(code, (a.pareto.get(code) ?? 0) + n);
  for (const [step, s] of g.steps) {
    let into = a.steps.get(step);
    if (!into) {
      into = { hist: new Map(), max: 0 };
      a.steps.set(step, into);
    }
    mergeInto(into.hist, s.hist);
    into.max = Math.max(into.max, s.max);
  }
};

const addDistinct = (a: Acc, d: Distinct) => {
  a.units += d.units;
  a.unitsPassed += d.unitsPassed;
  a.spanMs += Math.max(0, d.last - d.first);
  a.last = Math.max(a.last, d.last);
};

/** The same ordering and sums as core/store/stats.ts's batch Pareto. */
export const paretoOf = (counts: ReadonlyMap<string, number>): ParetoEntry[] => {
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  let cumulative = 0;
  return sorted.map(([code, count]) => {
    cumulative += count;
    return { code, count, percent: (100 * count) / total, cumulativePercent: (100 * cumulative) / total };
  });
};

const finish = (key: string, label: string, a: Acc): GroupStats => {
  const stepMs: Record<string, Percentiles> = {};
  // In the pipeline's order, as the station's own report lists them.
  for (const step of STEPS) {
    const s = a.steps.get(step);
    const p = s ? histogramPercentiles(s.hist, s.max) : undefined;
    if (p) stepMs[step] = p;
  }
  return {
    key,
    label,
    ...a.counts,
    units: a.units,
    unitsPassed: a.unitsPassed,
    yield: a.units === 0 ? 0 : a.unitsPassed / a.units,
    firstUnits: a.firstUnits,
    firstPassed: a.firstPassed,
    firstPassYield: a.firstUnits === 0 ? 0 : a.firstPassed / a.firstUnits,
    devicesPerHour: a.spanMs > 0 ? a.unitsPassed / (a.spanMs / HOUR) : 0,
    lastActivityAt: a.last > 0 ? new Date(a.last).toISOString() : null,
    stations: a.stations.size,
    pareto: paretoOf(a.pareto),
    stepMs,
  };
};

export const DEFAULT_LOT_LIMIT = 100;

export class LineModel {
  private lots = new Map<string, LotPart>();
  private stationList: StationState[] = [];
  private ver = 0;
  private cache = new Map<string, GroupStats[]>();
  private link: DatabaseLink = { state: 'live', since: null, error: null };

  get database(): DatabaseLink {
    return this.link;
  }

  /** Returns true when the link changed (the pages are told). */
  setDatabase(link: DatabaseLink): boolean {
    if (link.state === this.link.state && link.error?.code === this.link.error?.code) return false;
    this.link = link;
    return true;
  }

  get version(): number {
    return this.ver;
  }

  get stations(): readonly StationState[] {
    return this.stationList;
  }

  /** Replaces everything (the first load, a reload after the server lost its LISTEN). */
  replaceAll(lots: Map<string, LotPart>, stations: StationState[]): void {
    this.lots = lots;
    this.stationList = stations;
    this.bump();
  }

  /**
   * Replaces the named lots with what was loaded for them (a lot loaded empty is gone) and the
   * station list. Returns the delta for the pages: whole rows of every group the lots touch.
   */
  applyChange(names: readonly string[], loaded: Map<string, LotPart>, stations: StationState[]): LineUpdate {
    const touched = { station: new Set<string>(), operator: new Set<string>(), lot: new Set<string>() };
    const note = (p: LotPart | undefined) => {
      if (!p) return;
      touched.lot.add(p.lot);
      for (const g of p.grains.values()) {
        touched.station.add(g.stationId);
        touched.operator.add(g.operator);
      }
    };
    for (const lot of names) {
      note(this.lots.get(lot));
      const next = loaded.get(lot);
      note(next);
      if (next) this.lots.set(lot, next);
      else this.lots.delete(lot);
    }
    this.stationList = stations;
    this.bump();
    const pick = (by: GroupBy) => this.groups(by).filter((g) => touched[by].has(g.key));
    return {
      version: this.ver,
      generatedAt: new Date().toISOString(),
      stations,
      totals: this.totals(),
      changed: { station: pick('station'), operator: pick('operator'), lot: pick('lot') },
    };
  }

  /** The station list alone (heartbeats, backlogs): no statistics change. */
  setStations(stations: StationState[]): void {
    this.stationList = stations;
    // A renamed station shows its new name in the station rows too.
    this.bump();
  }

  private bump(): void {
    this.ver++;
    this.cache.clear();
  }

  private names(): Map<string, string> {
    return new Map(this.stationList.map((s) => [s.stationId, s.name]));
  }

  totals(): GroupStats {
    const hit = this.cache.get('line');
    if (hit?.[0]) return hit[0];
    const a = newAcc();
    for (const p of this.lots.values()) {
      addDistinct(a, p.whole);
      for (const g of p.grains.values()) addGrain(a, g);
    }
    const t = finish('line', 'Line', a);
    this.cache.set('line', [t]);
    return t;
  }

  /** Every group of a kind: stations and operators by name, lots newest first. */
  groups(by: GroupBy): GroupStats[] {
    const hit = this.cache.get(by);
    if (hit) return hit;
    const accs = new Map<string, Acc>();
    const acc = (k: string) => {
      let a = accs.get(k);
      if (!a) {
        a = newAcc();
        accs.set(k, a);
      }
      return a;
    };
    for (const p of this.lots.values()) {
      if (by === 'lot') addDistinct(acc(p.lot), p.whole);
      else for (const [k, d] of by === 'station' ? p.byStation : p.byOperator) addDistinct(acc(k), d);
      for (const g of p.grains.values())
        addGrain(acc(by === 'lot' ? g.lot : by === 'station' ? g.stationId : g.operator), g);
    }
    const names = this.names();
    // A station that has forwarded no attempt yet still gets its (empty) row.
    if (by === 'station') for (const s of this.stationList) acc(s.stationId);
    const out = [...accs.entries()].map(([k, a]) =>
      finish(k, by === 'station' ? (names.get(k) ?? k) : by === 'operator' ? k || '(none)' : k, a),
    );
    if (by === 'lot')
      out.sort(
        (x, y) =>
          (y.lastActivityAt ?? '').localeCompare(x.lastActivityAt ?? '') || x.key.localeCompare(y.key),
      );
    else out.sort((x, y) => x.label.localeCompare(y.label) || x.key.localeCompare(y.key));
    this.cache.set(by, out);
    return out;
  }

  state(): LineState {
    return {
      version: this.ver,
      generatedAt: new Date().toISOString(),
      database: this.link,
      stations: this.stationList,
      totals: this.totals(),
      byStation: this.groups('station'),
    };
  }

  stats(by: GroupBy, limit = DEFAULT_LOT_LIMIT): LineStats {
    const groups = this.groups(by);
    return { version: this.ver, by, groups: by === 'lot' ? groups.slice(0, limit) : groups };
  }

  report(lotLimit = DEFAULT_LOT_LIMIT): LineReport {
    return {
      stations: this.stationList,
      totals: this.totals(),
      byStation: this.groups('station'),
      byOperator: this.groups('operator'),
      byLot: this.groups('lot').slice(0, lotLimit),
    };
  }
}

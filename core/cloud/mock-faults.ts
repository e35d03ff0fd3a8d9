import { err, ok, type Result } from '../errors/result';

/**
 * Fault injection for the mock Particle Cloud. A spec is a comma-separated list:
 * - `KIND` or `KIND:P` injects KIND on a fraction P (0..1, default 1) of API requests. Kinds:
 *   `500`, `502`, `503` (server errors), `429` (rate limited, with Retry-After), `401`, `403`,
 *   `timeout` (never answers), `slow` (answers after slowMs), `slow503` (a 503 with Retry-After,
 *   after slowMs), `drop` (closes the connection before doing anything), `dropafter` (does the
 *   work, then closes the connection: the acknowledgement is lost, the classic source of
 *   duplicates).
 * - `KIND*N` injects KIND on exactly the next N API requests, in list order, before any random
 *   draw: `429*3` is "the first three answers are 429", whatever the seed.
 * - `seed=N`, `retryAfter=SECONDS` (fractions allowed), `slowMs=MS` tune them.
 * One draw per request picks at most one fault, walking the list in order.
 */
export type FaultKind =
  | '500'
  | '502'
  | '503'
  | '429'
  | '401'
  | '403'
  | 'timeout'
  | 'slow'
  | 'slow503'
  | 'drop'
  | 'dropafter';

export const FAULT_KINDS: readonly FaultKind[] = [
  '500',
  '502',
  '503',
  '429',
  '401',
  '403',
  'timeout',
  'slow',
  'slow503',
  'drop',
  'dropafter',
];

export interface FaultPlan {
  readonly faults: readonly { readonly kind: FaultKind; readonly probability: number }[];
  /** Faults for the next requests, one each, before any random draw (from `KIND*N` items). */
  readonly sequence: readonly FaultKind[];
  readonly seed: number;
  readonly retryAfterSeconds: number;
  readonly slowMs: number;
}

export const NO_FAULTS: FaultPlan = {
  faults: [],
  sequence: [],
  seed: 1,
  retryAfterSeconds: 1,
  slowMs: 2_000,
};

/** Enough for any test; a typo like `429*1e9` must not allocate a billion entries. */
const MAX_SEQUENCE = 10_000;

export const parseFaultSpec = (
  spec: string,
  base: FaultPlan = NO_FAULTS,
): Result<FaultPlan, 'MOCK_BAD_FAULT_SPEC'> => {
  const faults: { kind: FaultKind; probability: number }[] = [];
  const sequence: FaultKind[] = [];
  let { seed, retryAfterSeconds, slowMs } = base;
  const bad = (item: string, why: string) =>
    err('MOCK_BAD_FAULT_SPEC', `Fault spec item "${item}" ${why}.`, {
      remedy: `Use items like 500:0.2,429:0.1,timeout:0.05,drop:0.05,401 or 429*3 (kinds: ${FAULT_KINDS.join(', ')}) and seed=N, retryAfter=S, slowMs=MS.`,
    });
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '' || item === 'none') continue;
    const setting = /^(seed|retryAfter|slowMs)=(.+)$/.exec(item);
    if (setting) {
      const value = Number(setting[2]);
      if (!Number.isFinite(value) || value < 0) return bad(item, 'needs a non-negative number');
      if (setting[1] === 'seed') seed = Math.floor(value);
      else if (setting[1] === 'retryAfter') retryAfterSeconds = value;
      else slowMs = value;
      continue;
    }
    const counted = /^([^*:]+)\*(\d+)$/.exec(item);
    if (counted) {
      const kind = counted[1] as FaultKind;
      const n = Number(counted[2]);
      if (!FAULT_KINDS.includes(kind)) return bad(item, 'names no known fault');
      if (sequence.length + n > MAX_SEQUENCE) return bad(item, `asks for more than ${MAX_SEQUENCE} faults`);
      for (let i = 0; i < n; i++) sequence.push(kind);
      continue;
    }
    const [kind, p] = item.split(':');
    if (!FAULT_KINDS.includes(kind as FaultKind)) return bad(item, 'names no known fault');
    const probability = p === undefined ? 1 : Number(p);
    if (!Number.isFinite(probability) || probability < 0 || probability > 1)
      return bad(item, 'needs a probability between 0 and 1');
    faults.push({ kind: kind as FaultKind, probability });
  }
  return ok({ faults, sequence, seed, retryAfterSeconds, slowMs });
};

/** mulberry32: tiny, seedable, good enough to make a fault storm reproducible. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

export const pickFault = (plan: FaultPlan, random: () => number): FaultKind | undefined => {
  if (plan.faults.length === 0) return undefined;
  const r = random();
  let acc = 0;
  for (const f of plan.faults) {
    acc += f.probability;
    if (r < acc) return f.kind;
  }
  return undefined;
};

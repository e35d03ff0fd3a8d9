import type { LsError } from '../errors/result';
import { sleep } from '../time/sleep';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { CloudResult } from './client';
import { type CloudError, type CloudErrorCode, cloudError } from './errors';

/**
 * Runs one cloud call until it gets an answer that is not transient, for a bounded time: what a
 * batch start needs, so one 429 or a dropped connection does not stop a line. Transient means
 * the `backoff` kind (429, 5xx, timeout, network, unreadable 2xx); the waits follow the outbox's
 * backoff, and a Retry-After is a floor. Config answers (no token, 401, 403, 404), permanent ones
 * (400) and a cancel come back at once.
 */

/** How long a batch start keeps asking a cloud that answers only transiently. */
export const DEFAULT_CLOUD_WAIT_MS = 30_000;

/** One wait before a retry, told before the station sleeps. */
export interface CloudWait {
  /** Why: the failure that is being waited out. */
  readonly code: CloudErrorCode;
  readonly status?: number;
  /** Calls made so far (the one that just failed included). */
  readonly tries: number;
  readonly retryInMs: number;
  /** "waiting for the Particle Cloud (429, retry in 1 s)". */
  readonly message: string;
}

export interface RetryTransientOptions {
  /** Bound on the whole retrying, from the first call (default 30 s); 0 calls once and never waits. */
  readonly limitMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly signal?: AbortSignal;
  readonly onWait?: (wait: CloudWait) => void;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Facts a caller can quote when the bound ran out (in the error's details). */
export interface GaveUp {
  readonly tries: number;
  readonly waitedMs: number;
  readonly limitMs: number;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** The short reason in a wait line: the status when the cloud answered, else what happened. */
const reason = (e: CloudError): string => {
  if (e.status !== undefined) return String(e.status);
  if (e.code === 'CLOUD_TIMEOUT') return 'no answer';
  if (e.code === 'CLOUD_NETWORK') return 'connection failed';
  return e.code;
};

export const waitLine = (e: CloudError, retryInMs: number): string =>
  `waiting for the Particle Cloud (${reason(e)}, retry in ${seconds(retryInMs)})`;

/** The `GaveUp` facts of an error returned by retryTransient, if the bound ran out. */
export const gaveUp = (e: LsError): GaveUp | undefined => {
  const g = e.details?.gaveUp as Partial<GaveUp> | undefined;
  return g && typeof g.tries === 'number' && typeof g.waitedMs === 'number' && typeof g.limitMs === 'number'
    ? { tries: g.tries, waitedMs: g.waitedMs, limitMs: g.limitMs }
    : undefined;
};

/** "The station kept trying for 23 s (5 tries, limit 30 s)." for an operator-facing message. */
export const describeGaveUp = (g: GaveUp): string =>
  `The station kept trying for ${seconds(g.waitedMs)} (${g.tries} ${g.tries === 1 ? 'try' : 'tries'}, limit ${seconds(g.limitMs)}).`;

export const retryTransient = async <T>(
  call: (signal: AbortSignal | undefined) => Promise<CloudResult<T>>,
  options: RetryTransientOptions = {},
): Promise<CloudResult<T>> => {
  const limitMs = Math.max(0, options.limitMs ?? DEFAULT_CLOUD_WAIT_MS);
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const outer = options.signal;
  // Retrying off: one call, its answer as it is.
  if (limitMs === 0) return call(outer);

  const started = now();
  const deadline = started + limitMs;
  // A retry is worth its wait only with time left to get an answer after it.
  const reserveMs = Math.min(1_000, limitMs / 10);
  const giveUp = (last: CloudError, tries: number): CloudResult<T> => {
    const facts: GaveUp = { tries, waitedMs: now() - started, limitMs };
    return { ok: false, error: { ...last, details: { ...last.details, gaveUp: facts } } };
  };

  for (let tries = 1; ; tries++) {
    // A call still out at the deadline is cut short: the bound holds even against a slow cloud.
    const bound = AbortSignal.timeout(Math.max(1, deadline - now()));
    const r = await call(outer ? AbortSignal.any([outer, bound]) : bound);
    if (r.ok) return r;
    let error = r.error;
    if (error.kind === 'aborted') {
      if (outer?.aborted || !bound.aborted) return r;
      error = cloudError(
        'CLOUD_TIMEOUT',
        'backoff',
        `The Particle Cloud did not answer within the ${seconds(limitMs)} the station waits at start.`,
        { remedy: "Check the network and the profile's cloud address." },
      );
    }
    if (error.kind !== 'backoff') return { ok: false, error };
    const retryInMs = backoffDelay(tries, policy, random, error.retryAfterMs);
    if (now() + retryInMs + reserveMs > deadline) return giveUp(error, tries);
    options.onWait?.({
      code: error.code,
      ...(error.status === undefined ? {} : { status: error.status }),
      tries,
      retryInMs,
      message: waitLine(error, retryInMs),
    });
    // Only the caller cuts a wait short: an announced retry is always made.
    if (!(await sleep(retryInMs, outer)))
      return { ok: false, error: cloudError('CLOUD_ABORTED', 'aborted', 'The request was cancelled.') };
  }
};

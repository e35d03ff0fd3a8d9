export interface BackoffPolicy {
  /** Delay before the 2nd attempt; doubles each time after. */
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 5 * 60_000 };

/**
 * Exponential backoff with "equal jitter": half the exponential delay is kept, the other half is
 * random, so stations that lost the network together do not come back in lockstep, yet no retry
 * comes sooner than half the schedule. A Retry-After from the cloud is a floor: we never come back
 * earlier than asked.
 */
export const backoffDelay = (
  attempts: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number => {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
};

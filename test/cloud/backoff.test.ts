import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../core/cloud/backoff';

const policy = { baseMs: 1000, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles per attempt, with jitter in the upper half', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 1)).toBe(1000);
    expect(backoffDelay(3, policy, () => 0)).toBe(2000);
    expect(backoffDelay(3, policy, () => 1)).toBe(4000);
  });

  it('is capped at maxMs', () => {
    expect(backoffDelay(50, policy, () => 1)).toBe(30_000);
  });

  it('never comes back before Retry-After', () => {
    expect(backoffDelay(1, policy, () => 0, 9_000)).toBe(9_000);
    expect(backoffDelay(5, policy, () => 1, 100)).toBe(16_000);
  });
});

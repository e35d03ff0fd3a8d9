import { describe, expect, it } from 'vitest';
import { readinessItemSchema, readinessSchema } from '../../core/contract/views';

describe('readiness views', () => {
  it('accepts the four statuses and nothing else', () => {
    for (const status of ['ok', 'fail', 'pending', 'unknown'])
      expect(
        readinessItemSchema.safeParse({ id: 'x', title: 't', ok: status === 'ok', status, message: 'm' })
          .success,
      ).toBe(true);
    expect(
      readinessItemSchema.safeParse({ id: 'x', title: 't', ok: false, status: 'maybe', message: 'm' })
        .success,
    ).toBe(false);
  });

  it('needs an ISO timestamp on a checklist', () => {
    expect(readinessSchema.safeParse({ ready: true, items: [], checkedAt: 'yesterday' }).success).toBe(false);
    expect(
      readinessSchema.safeParse({ ready: true, items: [], checkedAt: '2026-11-25T10:00:00.000Z' }).success,
    ).toBe(true);
  });
});

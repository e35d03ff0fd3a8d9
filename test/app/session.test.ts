import { describe, expect, it } from 'vitest';
import { createSession, mayCall } from '../../core/app/session';

describe('session', () => {
  it('starts as operator and records why engineer rights were granted', () => {
    const s = createSession('operator', () => new Date('2026-11-25T10:00:00.000Z'));
    expect(s.role).toBe('operator');
    s.grantEngineer('PIN accepted');
    expect(s.role).toBe('engineer');
    expect(s.grants).toEqual([{ at: '2026-11-25T10:00:00.000Z', reason: 'PIN accepted' }]);
    s.dropToOperator();
    expect(s.role).toBe('operator');
  });

  it('lets operators call operator methods only', () => {
    expect(mayCall('operator', 'operator')).toBe(true);
    expect(mayCall('operator', 'engineer')).toBe(false);
    expect(mayCall('engineer', 'engineer')).toBe(true);
    expect(mayCall('engineer', 'operator')).toBe(true);
  });
});

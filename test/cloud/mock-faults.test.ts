import { describe, expect, it } from 'vitest';
import { parseFaultSpec, pickFault, seededRandom } from '../../core/cloud/mock-faults';

describe('parseFaultSpec', () => {
  it('reads kinds with probabilities and settings', () => {
    const r = parseFaultSpec('500:0.2,429:0.1,timeout:0.05,drop:0.05,401,seed=9,retryAfter=0.5,slowMs=20');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.faults).toEqual([
      { kind: '500', probability: 0.2 },
      { kind: '429', probability: 0.1 },
      { kind: 'timeout', probability: 0.05 },
      { kind: 'drop', probability: 0.05 },
      { kind: '401', probability: 1 },
    ]);
    expect([r.value.seed, r.value.retryAfterSeconds, r.value.slowMs]).toEqual([9, 0.5, 20]);
  });

  it('refuses unknown kinds and bad probabilities with a remedy', () => {
    const a = parseFaultSpec('418:0.1');
    expect(!a.ok && a.error.code).toBe('MOCK_BAD_FAULT_SPEC');
    expect(!a.ok && a.error.remedy).toMatch(/timeout/);
    expect(parseFaultSpec('500:2').ok).toBe(false);
    expect(parseFaultSpec('seed=-1').ok).toBe(false);
    expect(parseFaultSpec('').ok).toBe(true);
  });

  it('reads counted faults (KIND*N) as a sequence in list order', () => {
    const r = parseFaultSpec('429*2,slow503*1,500:0.1');
    expect(r.ok && r.value.sequence).toEqual(['429', '429', 'slow503']);
    expect(r.ok && r.value.faults).toEqual([{ kind: '500', probability: 0.1 }]);
    expect(parseFaultSpec('418*2').ok).toBe(false);
    expect(parseFaultSpec('500*99999999').ok).toBe(false);
  });
});

describe('pickFault', () => {
  it('is reproducible for a seed and follows the probabilities', () => {
    const r = parseFaultSpec('500:0.3,drop:0.1');
    if (!r.ok) throw new Error('spec');
    const run = () => {
      const rnd = seededRandom(42);
      return Array.from({ length: 2000 }, () => pickFault(r.value, rnd));
    };
    const a = run();
    expect(run()).toEqual(a);
    const share = (k: string) => a.filter((x) => x === k).length / a.length;
    expect(share('500')).toBeGreaterThan(0.25);
    expect(share('500')).toBeLessThan(0.35);
    expect(share('drop')).toBeGreaterThan(0.07);
    expect(share('drop')).toBeLessThan(0.13);
  });
});

import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import { planSet } from '../../core/firmware/plan-set';
import { formatDuration, planSummary, stepLine } from '../../core/firmware/plan-text';

/* How a plan reads in `inspect --set` and in the readiness checklist (core/firmware/plan-text.ts). */

describe('plan text', () => {
  it('rounds durations to what a model can promise', () => {
    expect(formatDuration(840)).toBe('0.8 s');
    expect(formatDuration(9_949)).toBe('9.9 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(60_000)).toBe('1 min');
    expect(formatDuration(98_300)).toBe('1 min 38 s');
  });

  it('prints one line per step: number, path, what, size, time, label; and a summary', () => {
    const boot = inspectBytes(
      'boot.bin',
      buildModule({ platformId: 13, function: 'bootloader', version: 3001 }),
    );
    const app = inspectBytes(
      'app.bin',
      buildModule({ platformId: 13, function: 'user', product: { id: 7, version: 1 }, dependencies: [] }),
    );
    const plan = planSet([app, boot], {
      platformId: 13,
      productId: 7,
      mode: 'flash-on-line',
      deviceProtection: false,
    });
    const lines = plan.steps.map((s, i) => stepLine(s, i + 1));
    expect(lines[0]).toMatch(/^1\. normal {2}bootloader 0 v3001 {2}\d+ bytes {2}~\d+\.\d s {2}boot\.bin$/);
    expect(lines[1]).toMatch(/^2\. DFU {5}0x000B4000 alt 0 {2}\d+ bytes {2}~0\.\d s {2}app\.bin$/);
    expect(planSummary(plan)).toMatch(/^2 steps \(1 normal, 1 DFU\), about \d+(\.\d)? s$/);
    expect(stepLine({ ...plan.steps[1], skip: 'current' } as (typeof plan.steps)[number], 2)).toMatch(
      /skipped: the device runs this module {2}app\.bin$/,
    );
  });
});

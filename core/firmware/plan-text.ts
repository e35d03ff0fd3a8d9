import { hex32 } from './errors';
import type { PlanStep, SetPlan } from './types';

/*
 * The plan as people read it, the same in `linestation inspect --set` and in the readiness
 * checklist: one line per step with its path, what it writes, its size and its expected time.
 */

/** "0.8 s", "12 s", "1 min 38 s": a model's estimate, so no more precision than that. */
export const formatDuration = (ms: number): string => {
  if (ms < 10_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const rest = s % 60;
  return `${Math.floor(s / 60)} min${rest ? ` ${rest} s` : ''}`;
};

const what = (step: PlanStep): string => {
  if (step.path === 'dfu') return `${hex32(step.image.address)} alt ${step.image.alt}`;
  const m = step.module;
  const fn = typeof m.function === 'number' ? `function ${m.function}` : m.function;
  return `${fn} ${m.index} v${m.version}${step.protected ? ', sealed as protected' : ''}`;
};

const SKIPPED: Record<NonNullable<PlanStep['skip']>, string> = {
  'asset-present': 'skipped: the device holds this asset',
  current: 'skipped: the device runs this module',
};

/** `3. DFU     0x000B4000 alt 0  1024 bytes  ~0.4 s  app.bin` */
export const stepLine = (step: PlanStep, n: number): string => {
  const path = step.path === 'dfu' ? 'DFU' : 'normal';
  const time = step.skip ? SKIPPED[step.skip] : `~${formatDuration(step.expectedMs)}`;
  return `${n}. ${path.padEnd(6)}  ${what(step)}  ${step.image.data.length} bytes  ${time}  ${step.image.label}`;
};

/** `4 steps (1 normal, 3 DFU), about 14 s` */
export const planSummary = (plan: SetPlan): string => {
  const normal = plan.steps.filter((s) => s.path === 'normal').length;
  const dfu = plan.steps.length - normal;
  const n = plan.steps.length;
  return `${n} step${n === 1 ? '' : 's'} (${normal} normal, ${dfu} DFU), about ${formatDuration(plan.expectedMs)}`;
};

import { resolveDataDir } from '../store/data-dir';
import { openLogForReading } from '../store/open-log';
import type { BatchRecord } from '../store/records';
import type { BatchStats } from '../store/stats';
import { labelWords } from './labels';
import type { SlotView } from './station';

/** Text the CLI prints about batches; kept apart from commander so it can be tested as plain strings. */

/** Read-only commands keep working while a station runs: they never end its attempts. */
export const openStationLog = (dataDir: string | undefined, env: NodeJS.ProcessEnv) =>
  openLogForReading(resolveDataDir(dataDir, env));

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const ms = (x: number): string =>
  x >= 10_000
    ? `${(x / 1000).toFixed(0)} s`
    : x >= 1000
      ? `${(x / 1000).toFixed(1)} s`
      : `${Math.round(x)} ms`;

export const batchLine = (b: BatchRecord, s: BatchStats): string =>
  [
    b.lot.padEnd(16),
    b.state.padEnd(8),
    b.mode.padEnd(13),
    `${s.devicesPassed}${b.targetCount !== null ? `/${b.targetCount}` : ''} passed`.padEnd(14),
    `${s.failed} failed`.padEnd(10),
    `yield ${pct(s.yield)}`.padEnd(13),
    b.startedAt.replace('T', ' ').slice(0, 19),
  ].join(' ');

export const batchDetails = (b: BatchRecord, s: BatchStats): string[] => {
  const lines = [
    `Lot ${b.lot} (${b.state})`,
    `  product ${b.product} ${b.profileName}, platform ${b.platform}, ${b.mode}${b.offline ? ', offline registration' : ''}`,
    `  profile ${b.profileHash}`,
    ...b.firmware.map((f) => `  firmware ${f.name} ${f.sha256}`),
    `  operator ${b.operator}, station ${b.station}${b.targetCount !== null ? `, target ${b.targetCount}` : ''}`,
    `  started ${b.startedAt}${b.endedAt ? `, ended ${b.endedAt}` : ''}`,
    ...b.acceptances.map((a) => `  accepted ${a.item} by ${a.by} at ${a.at}${a.note ? ` (${a.note})` : ''}`),
    `Attempts ${s.attempts}: ${s.passed} passed, ${s.failed} failed, ${s.interrupted} interrupted, ${s.skipped} already provisioned, ${s.running} running`,
    `Devices ${s.devices}: ${s.devicesPassed} passed; yield ${pct(s.yield)}, first-pass yield ${pct(s.firstPassYield)}, ${s.devicesPerHour.toFixed(1)} devices/hour`,
  ];
  if (s.pareto.length > 0) {
    lines.push('Failures by code:');
    for (const p of s.pareto)
      lines.push(
        `  ${p.code.padEnd(24)} ${String(p.count).padStart(5)}  ${pct(p.percent / 100).padStart(6)}  cum ${pct(p.cumulativePercent / 100)}`,
      );
  }
  const steps = Object.entries(s.stepMs);
  if (steps.length > 0) {
    lines.push('Step durations (p50 / p90 / p99 / max):');
    for (const [step, p] of steps)
      if (p)
        lines.push(
          `  ${step.padEnd(11)} ${ms(p.p50)} / ${ms(p.p90)} / ${ms(p.p99)} / ${ms(p.max)}  (${p.count})`,
        );
  }
  return lines;
};

/** One live line per slot for a terminal. */
export const slotLine = (v: SlotView): string => {
  const head = `[${v.label.padStart(2)}] ${(v.deviceId ?? '').padEnd(24)}`;
  switch (v.state) {
    case 'empty':
      return `${head} waiting for a device`;
    case 'running': {
      const bar =
        v.percent !== undefined
          ? ` ${v.percent.toFixed(0).padStart(3)}%${v.bytesPerSecond ? ` ${(v.bytesPerSecond / 1024).toFixed(0)} KiB/s` : ''}${v.etaMs !== undefined ? ` eta ${ms(v.etaMs)}` : ''}`
          : '';
      const what = v.module ? ` ${v.module} (${v.path === 'normal' ? 'normal mode' : 'DFU'})` : '';
      const waiting =
        v.percent === undefined && v.activity
          ? ` ${v.activity.split(': ').at(-1)}${v.expectedMs ? `, usually ~${ms(v.expectedMs)}` : ''}`
          : '';
      return `${head} ${v.step ?? 'starting'}${what}${bar}${waiting}`;
    }
    case 'passed':
      return `${head} PASS${v.deviceLabel ? `, ${labelWords(v.deviceLabel)}` : ''}${v.warning ? `, ${v.warning.title}` : ''}`;
    case 'skipped':
      return `${head} already provisioned`;
    case 'interrupted':
      return `${head} interrupted`;
    case 'failed':
      return `${head} FAIL ${v.error?.title ?? ''} (${v.error?.code ?? ''}): ${v.error?.remedy ?? ''}`;
  }
};

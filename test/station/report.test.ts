import { describe, expect, it } from 'vitest';
import { batchDetails, slotLine } from '../../core/station/report';
import type { SlotView } from '../../core/station/station';
import { batchStats } from '../../core/store/stats';
import { newBatch, openLog } from '../store/helpers';

const view = (over: Partial<SlotView>): SlotView => ({
  slot: 1,
  label: 'A1',
  portPath: '1-1',
  state: 'empty',
  deviceId: undefined,
  serialNumber: undefined,
  iccid: undefined,
  attemptId: undefined,
  step: undefined,
  percent: undefined,
  activity: undefined,
  module: undefined,
  path: undefined,
  expectedMs: undefined,
  bytesPerSecond: undefined,
  etaMs: undefined,
  error: undefined,
  deviceLabel: undefined,
  warning: undefined,
  ...over,
});

describe('slotLine', () => {
  it('shows step, percent, speed and ETA while running', () => {
    expect(
      slotLine(
        view({
          state: 'running',
          deviceId: 'ab'.repeat(12),
          step: 'flash',
          percent: 42.4,
          bytesPerSecond: 20480,
          etaMs: 3500,
        }),
      ),
    ).toBe(`[A1] ${'ab'.repeat(12)} flash  42% 20 KiB/s eta 3.5 s`);
  });

  it('names the module and its path while installing, and what a device applying firmware does', () => {
    expect(
      slotLine(
        view({
          state: 'running',
          step: 'normal-update',
          module: 'tracker-bootloader@5.6.0.bin',
          path: 'normal',
          percent: 40,
        }),
      ),
    ).toContain('normal-update tracker-bootloader@5.6.0.bin (normal mode)  40%');
    expect(
      slotLine(
        view({
          state: 'running',
          step: 'normal-update',
          module: 'ncp.bin',
          path: 'normal',
          activity: 'ncp.bin (normal mode): applying',
          expectedMs: 120_000,
        }),
      ),
    ).toContain('ncp.bin (normal mode) applying, usually ~120 s');
  });
  it('shows the operator title, code and remedy on a failure', () => {
    const line = slotLine(
      view({
        state: 'failed',
        error: {
          code: 'WRONG_PLATFORM',
          title: 'Wrong device type',
          remedy: 'Set aside: wrong platform for this product.',
          message: '',
        },
      }),
    );
    expect(line).toMatch(/FAIL Wrong device type \(WRONG_PLATFORM\): Set aside: wrong platform/);
  });
});

describe('batchDetails', () => {
  it('includes the recorded facts and the acceptances', () => {
    const { log } = openLog();
    const b = log.createBatch(
      newBatch({ acceptances: [{ item: 'offline', by: 'eng', at: '2026-01-01T00:00:00Z' }] }),
    );
    const text = batchDetails(b, batchStats(log, b.lot)).join('\n');
    expect(text).toMatch(/Lot LOT-1 \(running\)/);
    expect(text).toMatch(/operator ana, station line-1, target 10/);
    expect(text).toMatch(/accepted offline by eng/);
  });
});

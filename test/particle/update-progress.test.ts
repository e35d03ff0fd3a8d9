import { describe, expect, it, vi } from 'vitest';
import {
  expectedPhaseMs,
  type NormalUpdateProgress,
  UpdateProgress,
} from '../../core/particle/update-progress';

describe('expectedPhaseMs', () => {
  it('expects minutes of applying for NCP firmware and seconds for the rest', () => {
    expect(expectedPhaseMs('ncp', 'applying')).toBe(120_000);
    expect(expectedPhaseMs('bootloader', 'applying')).toBeLessThan(10_000);
    expect(expectedPhaseMs('system', 'rebooting')).toBeGreaterThan(expectedPhaseMs('user', 'rebooting'));
    expect(expectedPhaseMs('bootloader', 'sending', 16 * 1024)).toBe(1000);
  });
});

describe('UpdateProgress', () => {
  it('reports bytes, speed and ETA in DFU’s shape while sending, then the timed phases', () => {
    const seen: NormalUpdateProgress[] = [];
    const p = new UpdateProgress((e) => seen.push(e), 'ncp', 3000, 'ncp.bin', 0);
    p.phase('preparing');
    const advance = p.sending();
    advance(1000);
    advance(2000);
    p.phase('applying');
    p.stop();
    expect(seen.map((e) => e.phase)).toEqual(['preparing', 'sending', 'sending', 'sending', 'applying']);
    expect(seen[0]).toMatchObject({ bytesDone: 0, bytesTotal: 3000, attempt: 1, label: 'ncp.bin' });
    expect(seen[3]).toMatchObject({ bytesDone: 3000, etaMs: 0 });
    expect(seen[4]).toMatchObject({ bytesDone: 3000, expectedMs: 120_000 });
    expect(seen[4]?.bytesPerSecond).toBe(seen[3]?.bytesPerSecond);
  });

  it('re-announces a timed phase on its heartbeat, so a long NCP install never looks frozen', async () => {
    const seen: NormalUpdateProgress[] = [];
    const p = new UpdateProgress((e) => seen.push(e), 'ncp', 10, undefined, 2);
    p.phase('applying');
    await vi.waitFor(() => expect(seen.length).toBeGreaterThan(2), { timeout: 10_000 });
    p.stop();
    const count = seen.length;
    expect(seen.every((e) => e.phase === 'applying')).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.length).toBe(count);
  });

  it('survives a listener that throws', () => {
    const p = new UpdateProgress(
      () => {
        throw new Error('display broke');
      },
      'bootloader',
      10,
      undefined,
      0,
    );
    expect(() => p.phase('preparing')).not.toThrow();
    expect(() => p.sending()(10)).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { type DfuProgress, DfuSession, type FlashImage, writeImages } from '../../core/dfu';
import { flashBytes, openSim, pattern, waitForMode } from './helpers';

const IDLE = 2;

const photonSet = (): FlashImage[] => [
  { label: 'system-part1', alt: 0, address: 0x08020000, data: pattern(250 * 1024 + 17, 11) },
  { label: 'system-part2', alt: 0, address: 0x08060000, data: pattern(240 * 1024 + 3, 12) },
  { label: 'user', alt: 0, address: 0x080a0000, data: pattern(7 * 1024 + 9, 13) },
];

describe('writeImages on healthy devices', () => {
  it('writes a Photon system-part1 + system-part2 + user part, verifies, leaves, and the device comes back', async () => {
    const { session, device } = await openSim('photon');
    const back = waitForMode(device, 'normal');
    const plan = photonSet();
    const events: DfuProgress[] = [];
    const r = await writeImages(session, plan, { onProgress: (p) => events.push(p) });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.images.map((i) => [i.label, i.written, i.verified])).toEqual([
      ['system-part1', true, true],
      ['system-part2', true, true],
      ['user', true, true],
    ]);
    expect(r.value.verified).toBe(true);
    for (const img of plan) expect(flashBytes(device, 0, img.address, img.data.length)).toEqual(img.data);
    // Gen 2: the device stays in dfuDNLOAD-IDLE after leave and resets by itself.
    expect(['dfuDNLOAD-IDLE', 'reset']).toContain(r.value.leave?.finalState);
    await back;
    // Progress: every phase of every image ends with bytesDone = bytesTotal.
    for (const phase of ['erase', 'download', 'verify'] as const)
      for (const img of plan) {
        const last = events.filter((e) => e.phase === phase && e.label === img.label).at(-1);
        expect(last?.bytesDone).toBe(last?.bytesTotal);
      }
    expect(events.at(-1)).toMatchObject({ phase: 'leave', bytesDone: 1, bytesTotal: 1 });
  });

  it('writes a Boron user part with the invalidation image first, and the device returns in normal mode', async () => {
    const { session, device } = await openSim('boron');
    const back = waitForMode(device, 'normal');
    const user = pattern(60 * 1024 + 5, 21);
    const r = await writeImages(session, [
      { label: 'invalidate old user part', alt: 0, address: 0xd4000, data: new Uint8Array(4096).fill(0xff) },
      { label: 'user', alt: 0, address: 0xb4000, data: user },
    ]);
    expect(r.ok).toBe(true);
    expect(flashBytes(device, 0, 0xb4000, user.length)).toEqual(user);
    expect(flashBytes(device, 0, 0xd4000, 4096).every((b) => b === 0xff)).toBe(true);
    await back;
  });

  it('writes a P2 user part: ABORT/CLRSTATUS carry one byte, the leave DNLOAD stays zero-length', async () => {
    const { session, device, log } = await openSim('p2');
    const back = waitForMode(device, 'normal');
    const user = pattern(9000, 31);
    await session.ensureIdle();
    const r = await writeImages(session, [{ label: 'user', alt: 0, address: 0x085f0000, data: user }]);
    expect(r.ok).toBe(true);
    expect(flashBytes(device, 0, 0x085f0000, user.length)).toEqual(user);
    const aborts = log.filter((e) => e.type === 'class' && e.request === 6);
    expect(aborts.length).toBeGreaterThan(0);
    expect(aborts.every((e) => e.length === 1)).toBe(true);
    const leave = log.filter((e) => e.type === 'class' && e.request === 1 && e.value === 2).at(-1);
    expect(leave?.length).toBe(0);
    await back;
  });

  it('without verify, an image counts as written but not verified', async () => {
    const { session } = await openSim('boron');
    const r = await writeImages(session, [{ label: 'user', alt: 0, address: 0xb4000, data: pattern(5000) }], {
      verify: false,
      leave: false,
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.images[0]).toMatchObject({ written: true, verified: false });
    expect(r.value.verified).toBe(false);
    expect(r.value.left).toBe(false);
  });
});

describe('faults end in a named error with a recoverable device', () => {
  const user = () => [{ label: 'user', alt: 0, address: 0xb4000, data: pattern(40 * 1024, 41) }];

  it('a bit flipped after programming is caught by readback, at its address, never reported as success', async () => {
    const { session, device } = await openSim('boron', {
      faults: { flipBitAfterProgram: { address: 0xb4000 + 5000, bit: 3 } },
    });
    const r = await writeImages(session, user());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('DFU_VERIFY_MISMATCH');
    expect(r.error.details?.address).toBe('0x000b5388');
    expect(r.error.report.images[0]).toMatchObject({ written: false, verified: false });
    expect(r.error.report.left).toBe(false);
    expect(device.dfuState.state).toBe(IDLE);
  });

  it('a STALL on the k-th request → USB_STALL, and the device is back in dfuIDLE', async () => {
    const { session, device } = await openSim('boron', { faults: { stallOnRequest: 40 } });
    const r = await writeImages(session, user());
    expect(r.ok ? 'ok' : r.error.code).toBe('USB_STALL');
    expect(device.dfuState.state).toBe(IDLE);
    // …and the same session can write the plan again.
    const again = await writeImages(session, user(), { leave: false });
    expect(again.ok).toBe(true);
  });

  it('a wrong status (dfuERROR + errCHECK_ERASED) → DFU_DEVICE_ERROR naming the status and address', async () => {
    const { session, device } = await openSim('boron', {
      faults: { wrongStatus: { onGetStatus: 12, status: 'errCHECK_ERASED' } },
    });
    const r = await writeImages(session, user());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('DFU_DEVICE_ERROR');
    expect(r.error.details?.status).toBe('errCHECK_ERASED');
    expect(r.error.message).toMatch(/errCHECK_ERASED .* at 0x000b/);
    expect(device.dfuState.state).toBe(IDLE);
  });

  it('a device stuck in dfuDNBUSY → DFU_DEVICE_STUCK instead of a hang', async () => {
    const { session } = await openSim('boron', { faults: { stuckBusyFrom: 3 } }, { busyLimitMs: 50 });
    const r = await writeImages(session, user());
    expect(r.ok ? 'ok' : r.error.code).toBe('DFU_DEVICE_STUCK');
    expect(r.ok ? undefined : r.error.details?.state).toBe('dfuDNBUSY');
  });

  it('a device stuck in dfuDNBUSY hits the overall timeout when that comes first → DFU_TIMEOUT', async () => {
    const { session } = await openSim('boron', { faults: { stuckBusyFrom: 2 } });
    const r = await writeImages(session, user(), { timeoutMs: 100 });
    expect(r.ok ? 'ok' : r.error.code).toBe('DFU_TIMEOUT');
  });

  it('a disconnect after N bytes → USB_DISCONNECTED, and the device can be re-opened when it returns', async () => {
    const { session, device, bus } = await openSim('boron', {
      timeScale: 0.001,
      faults: { disconnectAfterBytes: 10_000 },
    });
    const back = waitForMode(device, 'dfu');
    const r = await writeImages(session, user());
    expect(r.ok ? 'ok' : r.error.code).toBe('USB_DISCONNECTED');
    await session.close();
    await back;
    const [info] = await bus.list();
    if (!info) throw new Error('device did not come back');
    const again = await DfuSession.open(await bus.open(info));
    const second = await writeImages(again, user(), { leave: false });
    expect(second.ok).toBe(true);
  });

  it('a disconnect during an erase → USB_DISCONNECTED', async () => {
    const { session } = await openSim('boron', { timeScale: 0.001, faults: { disconnectDuringErase: 2 } });
    const r = await writeImages(session, user());
    expect(r.ok ? 'ok' : r.error.code).toBe('USB_DISCONNECTED');
  });

  it('a slow device still finishes, and a budget it cannot meet ends in DFU_TIMEOUT', async () => {
    const fine = await openSim('boron', { timeScale: 0.001, faults: { slowFactor: 5 } });
    expect((await writeImages(fine.session, user(), { leave: false })).ok).toBe(true);
    const slow = await openSim('boron', { timeScale: 0.02, faults: { slowFactor: 50 } });
    const r = await writeImages(slow.session, user(), { timeoutMs: 30 });
    expect(r.ok ? 'ok' : r.error.code).toBe('DFU_TIMEOUT');
  });

  it('honours an AbortSignal mid-download → DFU_ABORTED, device back in dfuIDLE', async () => {
    const { session, device } = await openSim('boron');
    const ac = new AbortController();
    const r = await writeImages(session, user(), {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'download' && p.bytesDone >= 8192) ac.abort();
      },
    });
    expect(r.ok ? 'ok' : r.error.code).toBe('DFU_ABORTED');
    expect(device.dfuState.state).toBe(IDLE);
  });
});

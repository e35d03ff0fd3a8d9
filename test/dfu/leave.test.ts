import { describe, expect, it } from 'vitest';
import { DfuSession } from '../../core/dfu';
import { LsFailure } from '../../core/errors/result';
import type { UsbDeviceHandle } from '../../core/usb/transport';
import { openSim, waitForMode } from './helpers';

describe('leave', () => {
  it('Gen 3: zero-length DNLOAD → dfuMANIFEST, and the device comes back in normal mode', async () => {
    const { session, device, log } = await openSim('boron');
    const back = waitForMode(device, 'normal');
    const r = await session.leave();
    expect(['dfuMANIFEST', 'reset']).toContain(r.finalState);
    const leaveDnload = log.filter((e) => e.type === 'class' && e.request === 1).at(-1);
    expect(leaveDnload).toMatchObject({ value: 2, length: 0 });
    await back;
  });

  it('Gen 2 quirk: the device answers dfuDNLOAD-IDLE and resets by itself; that counts as left', async () => {
    const { session, device } = await openSim('photon', { timeScale: 0.01 });
    const back = waitForMode(device, 'normal');
    const r = await session.leave();
    expect(['dfuDNLOAD-IDLE', 'reset']).toContain(r.finalState);
    await back;
  });

  it('a STALLed leave request is a failure, not "the device already left"', async () => {
    const { bus, info, session: first } = await openSim('boron');
    await first.close();
    const inner = await bus.open(info);
    const stallLeave: UsbDeviceHandle = {
      ...inner,
      info: inner.info,
      controlIn: (s, l, o) => inner.controlIn(s, l, o),
      controlOut: async (s, data, o) => {
        if (s.requestType === 'class' && s.request === 1 && !data?.length)
          throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
        return inner.controlOut(s, data, o);
      },
      claimInterface: (n) => inner.claimInterface(n),
      releaseInterface: (n) => inner.releaseInterface(n),
      selectAlternate: (n, a) => inner.selectAlternate(n, a),
      close: () => inner.close(),
    };
    const session = await DfuSession.open(stallLeave);
    await expect(session.leave()).rejects.toMatchObject({ error: { code: 'USB_STALL' } });
  });
});

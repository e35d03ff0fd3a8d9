import { describe, expect, it } from 'vitest';
import { SimOperator } from '../../core/station/sim-operator';
import { deviceId } from './fakes';
import { harness } from './harness';

describe('SimOperator', () => {
  it('feeds every device, re-seats a failure and sets aside a wrong device', async () => {
    const h = await harness({ policy: { slotCount: 2, retryOn: [] } });
    h.driver.behaviour.set(deviceId(1), { failAt: { step: 'flash', code: 'USB_DISCONNECTED', times: 1 } });
    h.driver.behaviour.set(deviceId(3), { platformId: 12 });
    // The fake bus plugs by ID; the operator hands it device IDs as its "devices".
    const bus = {
      plug: (id: string, port: string) => {
        h.bus.plug(port, id);
      },
      unplug: (port: string) => {
        const d = h.bus.attached.get(port);
        h.bus.unplug(port);
        return d?.serialNumber?.toLowerCase();
      },
    };
    const op = new SimOperator({
      station: h.station,
      bus,
      ports: ['1-1', '1-2'],
      devices: 5,
      makeDevice: (i) => deviceId(i),
    });
    op.start();
    await op.done;
    await h.station.idle();
    expect(op.report()).toEqual({ plugged: 5, reseated: 1, setAside: 1 });
    expect(h.log.passedCount(h.batch.id)).toBe(4);
    expect(h.log.attempts(h.batch.id).filter((a) => a.errorCode === 'WRONG_PLATFORM')).toHaveLength(1);
    await h.station.stop();
  });
});

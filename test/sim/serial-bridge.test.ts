import { afterEach, describe, expect, it } from 'vitest';
import { SimBus, SimDevice } from '../../core/sim';
import { simLineCodingBinding, simSerialPath, simSerialPorts } from '../../core/sim/serial-bridge';

let bus: SimBus;
afterEach(() => bus.dispose());

describe('sim serial bridge', () => {
  it('lists a CDC port per normal-mode device, none for DFU mode', async () => {
    bus = new SimBus();
    const a = new SimDevice({ platform: 'argon', seed: 1, timeScale: 0 });
    bus.plug(a, '1-1.1');
    bus.plug(new SimDevice({ platform: 'argon', seed: 2, timeScale: 0, mode: 'dfu' }), '1-1.2');
    expect(await simSerialPorts(bus)()).toEqual([
      { path: simSerialPath('1-1.1'), vendorId: 0x2b04, productId: 0xc00c, serialNumber: a.deviceId },
    ]);
  });

  it('sets the line coding on open: 28800 enters listening mode; an empty port is ENOENT', async () => {
    bus = new SimBus();
    const a = new SimDevice({ platform: 'argon', seed: 1, timeScale: 0 });
    bus.plug(a, '1-1.1');
    const binding = simLineCodingBinding(bus);
    await (await binding.open({ path: simSerialPath('1-1.1'), baudRate: 28800 })).close();
    expect(a.mode).toBe('listening');
    await expect(binding.open({ path: simSerialPath('1-1.9'), baudRate: 14400 })).rejects.toThrow(/ENOENT/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { SimBus, SimDevice } from '../../core/sim';
import type { UsbDeviceInfo, UsbTransport } from '../../core/usb/transport';
import { DeviceWatcher, type WatcherEvent } from '../../core/usb/watcher';

const keyboard: UsbDeviceInfo = {
  key: 'kbd',
  portPath: '1-2',
  vendorId: 0x046d,
  productId: 0xc31c,
  serialNumber: undefined,
};
const stm: UsbDeviceInfo = {
  key: 'stm',
  portPath: '1-3',
  vendorId: 0x0483,
  productId: 0xdf11,
  serialNumber: 'X',
};
const oddParticle: UsbDeviceInfo = {
  key: 'odd',
  portPath: '1-4',
  vendorId: 0x2b04,
  productId: 0xc0ee,
  serialNumber: 'Y',
};

/** The simulated bus plus foreign devices; counts opens of anything that is not ours. */
const mixed = (bus: SimBus, options: { events?: boolean } = {}) => {
  const foreign = [keyboard, stm, oddParticle];
  const opened: string[] = [];
  const transport: UsbTransport = {
    list: async () => [...foreign, ...(await bus.list())],
    watch: (l) => (options.events === false ? () => undefined : bus.watch(l)),
    open: async (info) => {
      if (foreign.some((f) => f.key === info.key)) opened.push(info.key);
      return bus.open(info);
    },
  };
  return { transport, opened };
};

let bus: SimBus;
let watcher: DeviceWatcher | undefined;
afterEach(() => {
  watcher?.stop();
  bus?.dispose();
});

const sim = (seed: number, deviceId?: string) =>
  new SimDevice({ platform: 'photon', seed, timeScale: 0, ...(deviceId ? { deviceId } : {}) });

describe('DeviceWatcher', () => {
  it('lists recognised devices with slots and counts the ignored ones, never opening them', async () => {
    bus = new SimBus();
    bus.plug(sim(1), '1-1.2');
    bus.plug(new SimDevice({ platform: 'boron', seed: 2, timeScale: 0, mode: 'dfu' }), '1-1.1');
    const { transport, opened } = mixed(bus);
    watcher = new DeviceWatcher({ transport, rescanIntervalMs: 0, slots: { '1-1.1': 'A', '1-1.2': 'B' } });
    expect((await watcher.start()).ok).toBe(true);
    const devices = watcher.devices();
    expect(devices.map((d) => [d.portPath, d.slot, d.platform, d.mode])).toEqual([
      ['1-1.1', 'A', 'boron', 'dfu'],
      ['1-1.2', 'B', 'photon', 'normal'],
    ]);
    expect(watcher.ignored().map((d) => [d.key, d.reason])).toEqual([
      ['kbd', 'vendor'],
      ['stm', 'vendor'],
      ['odd', 'product'],
    ]);
    expect(opened).toEqual([]);
  });

  it('streams attach and detach from hot-plug events', async () => {
    bus = new SimBus();
    const { transport } = mixed(bus);
    watcher = new DeviceWatcher({ transport, rescanIntervalMs: 0 });
    const events: WatcherEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    await watcher.start();
    events.length = 0;
    const d = sim(5);
    bus.plug(d, '1-1.7');
    await watcher.settled();
    bus.unplug('1-1.7');
    await watcher.settled();
    expect(
      events.map((e) =>
        e.type === 'attach' || e.type === 'detach' ? [e.type, e.device.deviceId] : [e.type],
      ),
    ).toEqual([
      ['attach', d.deviceId],
      ['detach', d.deviceId],
    ]);
  });

  it('finds devices by periodic rescan when the transport has no hot-plug events', async () => {
    bus = new SimBus();
    const { transport } = mixed(bus, { events: false });
    watcher = new DeviceWatcher({ transport, rescanIntervalMs: 10 });
    await watcher.start();
    const seen = new Promise<WatcherEvent>((resolve) =>
      watcher?.subscribe((e) => e.type === 'attach' && resolve(e)),
    );
    bus.plug(sim(9), '1-1.4');
    const e = await seen;
    expect(e.type === 'attach' && e.device.portPath).toBe('1-1.4');
    bus.unplug('1-1.4');
    await watcher.rescan();
    expect(watcher.devices()).toEqual([]);
  });

  it('flags two devices reporting the same ID as DUPLICATE_DEVICE_ID, both of them', async () => {
    bus = new SimBus();
    const same = 'cafecafecafecafecafecafe';
    bus.plug(sim(1, same), '1-1.1');
    const { transport } = mixed(bus);
    watcher = new DeviceWatcher({ transport, rescanIntervalMs: 0 });
    await watcher.start();
    const events: WatcherEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    bus.plug(sim(2, same), '1-1.2');
    await watcher.settled();
    expect(watcher.devices().map((d) => d.errors.map((x) => x.code))).toEqual([
      ['DUPLICATE_DEVICE_ID'],
      ['DUPLICATE_DEVICE_ID'],
    ]);
    expect(events.map((e) => e.type)).toEqual(['attach', 'changed']);
    bus.unplug('1-1.2');
    await watcher.settled();
    expect(watcher.devices()[0]?.errors).toEqual([]);
  });

  it('fails to start with USB_UNAVAILABLE where there is no bus', async () => {
    const transport: UsbTransport = {
      list: async () => {
        throw new LsFailure({ code: 'USB_UNAVAILABLE', message: 'No USB bus available on this machine.' });
      },
      watch: () => () => undefined,
      open: async () => {
        throw new Error('unreachable');
      },
    };
    watcher = new DeviceWatcher({ transport });
    const r = await watcher.start();
    expect(r.ok ? '' : r.error.code).toBe('USB_UNAVAILABLE');
  });
});

describe('DeviceWatcher identification', () => {
  it('probes devices plugged together in parallel, and drops a device unplugged mid-probe', async () => {
    bus = new SimBus();
    const inner = mixed(bus).transport;
    let inFlight = 0;
    let maxInFlight = 0;
    const gate: (() => void)[] = [];
    // open() blocks until released, so we can see how many probes run at once.
    const transport: UsbTransport = {
      ...inner,
      list: () => inner.list(),
      watch: (l) => inner.watch(l),
      open: async (info) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => gate.push(r));
        inFlight--;
        return inner.open(info);
      },
    };
    watcher = new DeviceWatcher({ transport, rescanIntervalMs: 0 });
    const started = watcher.start();
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 1; i <= 3; i++) bus.plug(sim(i), `1-1.${i}`);
    while (gate.length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(maxInFlight).toBe(3);
    bus.unplug('1-1.2');
    await new Promise((r) => setTimeout(r, 10));
    for (const release of gate.splice(0)) release();
    await started;
    await watcher.settled();
    expect(watcher.devices().map((d) => d.portPath)).toEqual(['1-1.1', '1-1.3']);
  });
});

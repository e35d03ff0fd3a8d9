import { afterEach, describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { portPaths, SimBus, SimDevice } from '../../core/sim';
import type { UsbDeviceInfo, UsbEvent } from '../../core/usb/transport';
import { byte } from './helpers';

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof LsFailure) return e.error.code;
    throw e;
  }
  throw new Error('expected a failure');
};

const getDeviceDescriptor = {
  requestType: 'standard',
  recipient: 'device',
  request: 6,
  value: 0x0100,
  index: 0,
} as const;
const T = { timeoutMs: 1000 };

let bus: SimBus;
afterEach(() => bus?.dispose());

const setup = (count = 1, options: Partial<ConstructorParameters<typeof SimDevice>[0]> = {}) => {
  bus = new SimBus();
  const events: UsbEvent[] = [];
  bus.watch((e) => events.push(e));
  const devices = portPaths(count).map((p, i) => {
    const d = new SimDevice({ platform: 'boron', seed: i, timeScale: 0, ...options });
    bus.plug(d, p);
    return d;
  });
  return { events, devices };
};

const first = async (): Promise<UsbDeviceInfo> => {
  const [info] = await bus.list();
  if (!info) throw new Error('no device on the bus');
  return info;
};

const waitFor = async (events: UsbEvent[], n: number) => {
  for (let i = 0; i < 200 && events.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return events;
};

describe('SimBus', () => {
  it('names hub ports 1-1.1 … 1-1.24', () => {
    const p = portPaths(24);
    expect(p[0]).toBe('1-1.1');
    expect(p[23]).toBe('1-1.24');
    expect(portPaths(2, '3-2')).toEqual(['3-2.1', '3-2.2']);
  });

  it('plugging attaches on distinct port paths with VID/PID and the device ID as serial', async () => {
    const { events, devices } = setup(3);
    const list = await bus.list();
    expect(list.map((d) => d.portPath)).toEqual(['1-1.1', '1-1.2', '1-1.3']);
    expect(list[1]).toMatchObject({
      vendorId: 0x2b04,
      productId: 0xc00d,
      serialNumber: devices[1]?.deviceId,
    });
    expect(new Set(list.map((d) => d.key)).size).toBe(3);
    expect(events.map((e) => e.type)).toEqual(['attach', 'attach', 'attach']);
  });

  it('refuses a second device on an occupied port', () => {
    setup(1);
    expect(() => bus.plug(new SimDevice({ platform: 'p2', timeScale: 0 }), '1-1.1')).toThrow(/occupied/);
  });

  it('open() gives a handle whose control transfers reach the device', async () => {
    setup(1);
    const info = await first();
    const h = await bus.open(info);
    const dev = await h.controlIn(getDeviceDescriptor, 18, T);
    expect(byte(dev, 10) | (byte(dev, 11) << 8)).toBe(0xc00d);
  });

  it('a STALL becomes USB_STALL', async () => {
    setup(1);
    const info = await first();
    const h = await bus.open(info);
    expect(await codeOf(h.controlIn({ ...getDeviceDescriptor, value: 0x0363 }, 255, T))).toBe('USB_STALL');
  });

  it('unplug detaches; transfers on an old handle fail USB_DISCONNECTED; open of a stale info fails USB_NOT_FOUND', async () => {
    const { events } = setup(1);
    const info = await first();
    const h = await bus.open(info);
    const d = bus.unplug('1-1.1');
    expect(d).toBeDefined();
    expect(events.at(-1)).toMatchObject({ type: 'detach', device: { portPath: '1-1.1' } });
    expect(await bus.list()).toEqual([]);
    expect(await codeOf(h.controlIn(getDeviceDescriptor, 18, T))).toBe('USB_DISCONNECTED');
    expect(await codeOf(bus.open(info))).toBe('USB_NOT_FOUND');
  });

  it('a device that never completes a transfer fails with USB_TIMEOUT', async () => {
    bus = new SimBus();
    const d = new SimDevice({ platform: 'p2', timeScale: 0 });
    bus.plug(d, '1-1.5');
    const info = await first();
    const h = await bus.open(info);
    const zeroLengthOut = h.controlOut(
      { requestType: 'vendor', recipient: 'device', request: 0x50, value: 0, index: 40 },
      undefined,
      {
        timeoutMs: 30,
      },
    );
    expect(await codeOf(zeroLengthOut)).toBe('USB_TIMEOUT');
  });

  it('an AbortSignal cancels a transfer in flight', async () => {
    bus = new SimBus();
    const d = new SimDevice({ platform: 'boron', timeScale: 1, timing: { usbMsPerStage: 10_000 } });
    bus.plug(d, '1-1.1');
    const info = await first();
    const h = await bus.open(info);
    const c = new AbortController();
    const p = h.controlIn(getDeviceDescriptor, 18, { timeoutMs: 60_000, signal: c.signal });
    setTimeout(() => c.abort(), 10);
    expect(await codeOf(p)).toBe('ABORTED');
  });

  it('re-enumeration after DFU_MODE: detach, then attach on the same port with the DFU PID and a new key', async () => {
    const { events, devices } = setup(1);
    const [before] = await bus.list();
    devices[0]?.reset('dfu', 'test');
    await waitFor(events, 3);
    expect(events.map((e) => e.type)).toEqual(['attach', 'detach', 'attach']);
    const [after] = await bus.list();
    expect(after).toMatchObject({ portPath: '1-1.1', productId: 0xd00d, serialNumber: before?.serialNumber });
    expect(after?.key).not.toBe(before?.key);
  });

  it('claimInterface: unknown interface → USB_NOT_FOUND, claimed by another handle → USB_BUSY', async () => {
    setup(1, { mode: 'dfu' });
    const info = await first();
    const a = await bus.open(info);
    const b = await bus.open(info);
    expect(await codeOf(a.claimInterface(3))).toBe('USB_NOT_FOUND');
    await a.claimInterface(0);
    expect(await codeOf(b.claimInterface(0))).toBe('USB_BUSY');
    await a.close();
    await b.claimInterface(0);
    await b.selectAlternate(0, 1);
    expect(bus.deviceAt('1-1.1')?.dfuState.alt).toBe(1);
    expect(await codeOf(b.selectAlternate(0, 9))).toBe('USB_STALL');
  });

  it('unplugging fails a transfer in flight at once, even while the device is busy erasing', async () => {
    bus = new SimBus();
    const d = new SimDevice({
      platform: 'boron',
      mode: 'dfu',
      timeScale: 1,
      timing: { eraseMsBySectorSize: { 4096: 600_000 } },
    });
    bus.plug(d, '1-1.3');
    const h = await bus.open(await first());
    const cls = (request: number, value = 0) =>
      ({ requestType: 'class', recipient: 'interface', request, value, index: 0 }) as const;
    await h.controlOut(cls(1), Uint8Array.of(0x41, 0, 0x40, 0x0b, 0), T);
    await h.controlIn(cls(3), 6, T); // dfuDNBUSY: a 10-minute erase starts
    const held = h.controlIn(cls(3), 6, { timeoutMs: 60_000 });
    setTimeout(() => bus.unplug('1-1.3'), 10);
    expect(await codeOf(held)).toBe('USB_DISCONNECTED');
    d.dispose();
  });

  it('fault: comes back on another port after a reset', async () => {
    const { events, devices } = setup(1, { faults: { comesBackOnPort: '1-1.9' } });
    devices[0]?.reset('dfu', 'test');
    await waitFor(events, 3);
    expect(events.at(-1)).toMatchObject({ type: 'attach', device: { portPath: '1-1.9', productId: 0xd00d } });
    expect(bus.ports()).toEqual(['1-1.9']);
  });

  it('a throwing listener does not stop the others', async () => {
    bus = new SimBus();
    const seen: string[] = [];
    bus.watch(() => {
      throw new Error('listener bug');
    });
    const off = bus.watch((e) => seen.push(e.type));
    bus.plug(new SimDevice({ platform: 'argon', timeScale: 0 }), '1-1.2');
    off();
    bus.unplug('1-1.2');
    expect(seen).toEqual(['attach']);
  });
});

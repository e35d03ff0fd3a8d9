import { describe, expect, it } from 'vitest';
import { type LsError, LsFailure } from '../../core/errors/result';
import { classifyNativeUsbError } from '../../core/usb/errors';
import {
  deviceInfoOf,
  type NativeUsbDevice,
  NodeUsbTransport,
  portPathOf,
  type UsbBackend,
} from '../../core/usb/node-usb';
import type { ControlSetup } from '../../core/usb/transport';

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof LsFailure) return e.error.code;
    if (e instanceof Error) return e.name;
  }
  return 'resolved';
};

describe('node-usb on this machine (no USB bus)', () => {
  it('list() rejects with USB_UNAVAILABLE and a clear message', async () => {
    const t = new NodeUsbTransport();
    try {
      await t.list();
      expect.unreachable('this machine has no USB bus');
    } catch (e) {
      expect(e).toBeInstanceOf(LsFailure);
      const error = (e as LsFailure).error;
      expect(error.code).toBe('USB_UNAVAILABLE');
      expect(error.message).toMatch(/no USB bus available/i);
    }
  });

  it('watch() reports USB_UNAVAILABLE through onError and does not crash the process', async () => {
    const errors: LsError[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    try {
      const t = new NodeUsbTransport({ onError: (e) => errors.push(e) });
      const stop = t.watch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      stop();
      expect(errors.map((e) => e.code)).toEqual(['USB_UNAVAILABLE']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    }
  });

  it('open() rejects with USB_UNAVAILABLE', async () => {
    const t = new NodeUsbTransport();
    const info = { key: 'x', portPath: '1-1', vendorId: 0x2b04, productId: 0xd006, serialNumber: undefined };
    expect(await codeOf(t.open(info))).toBe('USB_UNAVAILABLE');
  });
});

describe('portPathOf', () => {
  it('joins the bus number and port chain', () => {
    expect(portPathOf('1', [2, 3])).toBe('1-2.3');
    expect(portPathOf('003', [1])).toBe('3-1');
    expect(portPathOf('2-3.4', [])).toBe('2-3.4');
    expect(portPathOf('1', [])).toBe('1');
  });
});

/** A fake usb@3 device whose transfers follow a script, to check the mapping to our codes. */
const fakeDevice = (overrides: Partial<NativeUsbDevice> = {}): NativeUsbDevice => ({
  vendorId: 0x2b04,
  productId: 0xd00d,
  bus: '1',
  ports: [4, 2],
  handle: 'h1',
  serialNumber: 'E00FCE68FFFFFFFFFFFFFFFF\u0000',
  manufacturerName: 'Particle',
  productName: 'Boron DFU Mode',
  open: async () => undefined,
  close: async () => undefined,
  claimInterface: async () => undefined,
  releaseInterface: async () => undefined,
  selectAlternateInterface: async () => undefined,
  nativeControlTransferIn: async (_s: ControlSetup, _t: number, length: number) => new Uint8Array(length),
  nativeControlTransferOut: async (_s: ControlSetup, _t: number, data?: Uint8Array | null) =>
    data?.length ?? 0,
  ...overrides,
});

const backendOf = (devices: NativeUsbDevice[]): UsbBackend => ({
  getDevices: async () => devices,
  addEventListener: () => undefined,
  removeEventListener: () => undefined,
});

const setup: ControlSetup = { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 };

describe('NodeUsbTransport with a usb@3-shaped backend', () => {
  it('lists devices with port path and normalised serial', async () => {
    const t = new NodeUsbTransport({ backend: backendOf([fakeDevice()]) });
    const [info] = await t.list();
    expect(info).toMatchObject({
      key: 'h1',
      portPath: '1-4.2',
      vendorId: 0x2b04,
      productId: 0xd00d,
      serialNumber: 'e00fce68ffffffffffffffff',
    });
  });

  it('passes the per-transfer timeout to the native call and maps a null result to USB_STALL', async () => {
    const timeouts: number[] = [];
    const dev = fakeDevice({
      nativeControlTransferIn: async (_s, timeout) => {
        timeouts.push(timeout);
        return null;
      },
    });
    const t = new NodeUsbTransport({ backend: backendOf([dev]) });
    const h = await t.open(deviceInfoOf(dev));
    expect(await codeOf(h.controlIn(setup, 6, { timeoutMs: 1234 }))).toBe('USB_STALL');
    expect(timeouts).toEqual([1234]);
  });

  it('maps OS errors to USB_ACCESS_DENIED (pointing at the udev rules), USB_BUSY and USB_TIMEOUT', async () => {
    const denied = fakeDevice({
      open: async () => {
        throw new Error('Permission denied (os error 13)');
      },
    });
    const t = new NodeUsbTransport({ backend: backendOf([denied]) });
    try {
      await t.open(deviceInfoOf(denied));
      expect.unreachable();
    } catch (e) {
      const error = (e as LsFailure).error;
      expect(error.code).toBe('USB_ACCESS_DENIED');
      expect(error.remedy).toMatch(/udev rules/);
    }
    const busy = fakeDevice({
      claimInterface: async () => {
        throw new Error('Device or resource busy (os error 16)');
      },
      nativeControlTransferOut: async () => {
        throw new Error('Transfer timed out');
      },
    });
    const h = await new NodeUsbTransport({ backend: backendOf([busy]) }).open(deviceInfoOf(busy));
    expect(await codeOf(h.claimInterface(0))).toBe('USB_BUSY');
    expect(await codeOf(h.controlOut(setup, undefined, { timeoutMs: 10 }))).toBe('USB_TIMEOUT');
  });

  it('classifies nusb/libusb words: cancelled = timeout, stall/pipe = STALL, no device = disconnected', () => {
    expect(classifyNativeUsbError(new Error('Cancelled'))).toBe('USB_TIMEOUT');
    expect(classifyNativeUsbError(new Error('Stall'))).toBe('USB_STALL');
    expect(classifyNativeUsbError(new Error('LIBUSB_ERROR_PIPE'))).toBe('USB_STALL');
    expect(classifyNativeUsbError(new Error('Disconnected'))).toBe('USB_DISCONNECTED');
    expect(classifyNativeUsbError(new Error('LIBUSB_ERROR_ACCESS'))).toBe('USB_ACCESS_DENIED');
    expect(classifyNativeUsbError(new Error('Fault'))).toBe('USB_IO');
  });

  it('a transfer still pending is abandoned when the signal aborts', async () => {
    const dev = fakeDevice({ nativeControlTransferIn: () => new Promise(() => undefined) });
    const h = await new NodeUsbTransport({ backend: backendOf([dev]) }).open(deviceInfoOf(dev));
    const ac = new AbortController();
    const p = h.controlIn(setup, 6, { timeoutMs: 60_000, signal: ac.signal });
    ac.abort();
    expect(await codeOf(p)).toBe('AbortError');
  });

  it('watch() maps usb@3 connect/disconnect events to attach/detach with port paths', async () => {
    const target = new EventTarget();
    const backend: UsbBackend = {
      getDevices: async () => [],
      addEventListener: (type, l) => target.addEventListener(type, l),
      removeEventListener: (type, l) => target.removeEventListener(type, l),
    };
    const events: string[] = [];
    const stop = new NodeUsbTransport({ backend }).watch((e) =>
      events.push(`${e.type} ${e.device.portPath}`),
    );
    await new Promise((r) => setTimeout(r, 10));
    const dev = fakeDevice({ bus: '2', ports: [1, 4], handle: 'h9' });
    target.dispatchEvent(Object.assign(new Event('connect'), { device: dev }));
    target.dispatchEvent(Object.assign(new Event('disconnect'), { device: dev }));
    stop();
    target.dispatchEvent(Object.assign(new Event('connect'), { device: dev }));
    expect(events).toEqual(['attach 2-1.4', 'detach 2-1.4']);
  });

  it('open() of a device that has gone says USB_NOT_FOUND', async () => {
    const t = new NodeUsbTransport({ backend: backendOf([]) });
    const info = deviceInfoOf(fakeDevice());
    expect(await codeOf(t.open(info))).toBe('USB_NOT_FOUND');
  });
});

describe('NodeUsbTransport.open() while a device settles after (re-)enumerating', () => {
  /** A device whose open() fails with `errors` in turn, then succeeds; counts the attempts. */
  const settling = (errors: readonly Error[]) => {
    let attempts = 0;
    const dev = fakeDevice({
      open: async () => {
        const e = errors[attempts++];
        if (e) throw e;
      },
    });
    return { dev, attempts: () => attempts };
  };
  const enoent = () => new Error('open error: device not found (errno 2)');
  const fast = { openRetryMs: 1 };

  it('retries an open that fails with ENOENT (sysfs listed it before /dev/bus/usb had the node)', async () => {
    const { dev, attempts } = settling([enoent(), enoent()]);
    const t = new NodeUsbTransport({ backend: backendOf([dev]), ...fast });
    const h = await t.open(deviceInfoOf(dev));
    expect(h.info.portPath).toBe('1-4.2');
    expect(attempts()).toBe(3);
  });

  it('retries EACCES while udev is still applying the permissions', async () => {
    const { dev, attempts } = settling([new Error('Permission denied (os error 13)')]);
    const t = new NodeUsbTransport({ backend: backendOf([dev]), ...fast });
    await t.open(deviceInfoOf(dev));
    expect(attempts()).toBe(2);
  });

  it('waits for a device that is not listed yet, matching it by port path and VID:PID', async () => {
    const dev = fakeDevice({ handle: 'new-key' });
    const listed: NativeUsbDevice[] = [];
    let lists = 0;
    const backend: UsbBackend = {
      getDevices: async () => {
        if (++lists === 3) listed.push(dev);
        return listed;
      },
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    };
    const t = new NodeUsbTransport({ backend, ...fast });
    const h = await t.open({ ...deviceInfoOf(dev), key: 'old-key' });
    expect(h.info.key).toBe('new-key');
    expect(lists).toBe(3);
  });

  it('gives up after the settle window with the last error and how many attempts it made', async () => {
    const { dev, attempts } = settling(Array.from({ length: 10_000 }, enoent));
    const t = new NodeUsbTransport({ backend: backendOf([dev]), openSettleMs: 40, openRetryMs: 5 });
    try {
      await t.open(deviceInfoOf(dev));
      expect.unreachable('the device never became openable');
    } catch (e) {
      const error = (e as LsFailure).error;
      expect(error.code).toBe('USB_DISCONNECTED');
      expect(error.message).toMatch(/device not found \(errno 2\)/);
      expect(error.details).toMatchObject({ attempts: attempts(), settleMs: 40 });
      expect(attempts()).toBeGreaterThan(1);
    }
  });

  it('does not retry what waiting cannot fix (busy), nor anything when the window is 0', async () => {
    const busy = settling([new Error('Device or resource busy (os error 16)')]);
    const t = new NodeUsbTransport({ backend: backendOf([busy.dev]), ...fast });
    expect(await codeOf(t.open(deviceInfoOf(busy.dev)))).toBe('USB_BUSY');
    expect(busy.attempts()).toBe(1);
    const gone = settling([enoent()]);
    const t0 = new NodeUsbTransport({ backend: backendOf([gone.dev]), openSettleMs: 0 });
    expect(await codeOf(t0.open(deviceInfoOf(gone.dev)))).toBe('USB_DISCONNECTED');
    expect(gone.attempts()).toBe(1);
  });

  it('stops retrying when the signal aborts', async () => {
    const { dev, attempts } = settling(Array.from({ length: 10_000 }, enoent));
    const t = new NodeUsbTransport({ backend: backendOf([dev]), openSettleMs: 60_000, openRetryMs: 5 });
    const ac = new AbortController();
    const p = t.open(deviceInfoOf(dev), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    expect(await codeOf(p)).toBe('AbortError');
    const seen = attempts();
    await new Promise((r) => setTimeout(r, 30));
    expect(attempts()).toBe(seen);
  });
});

describe('NodeUsbHandle: a STALL followed by the device leaving the bus', () => {
  /** A backend whose listing the test edits, so a device can vanish mid-transfer. */
  const liveBackend = (devices: NativeUsbDevice[]): UsbBackend => ({
    getDevices: async () => [...devices],
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  });

  it('reports USB_DISCONNECTED when the stalled device is no longer listed', async () => {
    const devices: NativeUsbDevice[] = [];
    const dev = fakeDevice({
      nativeControlTransferOut: async () => {
        // The cable is pulled: the request in flight stalls, the device goes a moment later.
        setTimeout(() => devices.splice(0), 20);
        return -1;
      },
      nativeControlTransferIn: async () => {
        throw new Error('Stall');
      },
    });
    devices.push(dev);
    const h = await new NodeUsbTransport({ backend: liveBackend(devices) }).open(deviceInfoOf(dev));
    try {
      await h.controlOut(setup, new Uint8Array(64), { timeoutMs: 1000 });
      expect.unreachable('the transfer stalled');
    } catch (e) {
      const error = (e as LsFailure).error;
      expect(error.code).toBe('USB_DISCONNECTED');
      expect(error.message).toMatch(/stalled, then the device left the bus/);
      expect(error.details).toMatchObject({ request: 3, portPath: '1-4.2', goneAfterMs: expect.any(Number) });
    }
    // A thrown "Stall" from nusb gets the same treatment.
    expect(await codeOf(h.controlIn(setup, 6, { timeoutMs: 1000 }))).toBe('USB_DISCONNECTED');
  });

  it('keeps USB_STALL for a device that stays on the bus (a real refusal)', async () => {
    const dev = fakeDevice({ nativeControlTransferOut: async () => -1 });
    const h = await new NodeUsbTransport({ backend: liveBackend([dev]) }).open(deviceInfoOf(dev));
    expect(await codeOf(h.controlOut(setup, undefined, { timeoutMs: 1000 }))).toBe('USB_STALL');
  });

  it('keeps USB_STALL when the bus cannot be listed (no guessing)', async () => {
    const dev = fakeDevice({ nativeControlTransferIn: async () => null });
    let calls = 0;
    const backend: UsbBackend = {
      getDevices: async () => {
        if (++calls > 1) throw new Error('failed to open /sys/bus/usb/devices/');
        return [dev];
      },
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    };
    const h = await new NodeUsbTransport({ backend }).open(deviceInfoOf(dev));
    expect(await codeOf(h.controlIn(setup, 6, { timeoutMs: 1000 }))).toBe('USB_STALL');
  });
});

describe('a device listed before its properties can be read (usb@3 getters through a missing node)', () => {
  /** A device whose serialNumber getter throws ENOENT for its first `failures` reads. */
  const lazyDevice = (failures: number, error = 'open error: device not found (errno 2)') => {
    let reads = 0;
    const base = fakeDevice();
    const dev = Object.create(base, {
      serialNumber: {
        get: () => {
          if (reads++ < failures) throw new Error(error);
          return base.serialNumber;
        },
      },
    }) as NativeUsbDevice;
    return dev;
  };

  it('list() leaves it out until it can be read (instead of throwing the raw getter error)', async () => {
    const t = new NodeUsbTransport({ backend: backendOf([lazyDevice(1)]) });
    expect(await t.list()).toEqual([]);
    expect((await t.list()).map((d) => d.serialNumber)).toEqual(['e00fce68ffffffffffffffff']);
  });

  it('keeps a device whose properties are denied, without its serial, so opening it names the problem', async () => {
    const t = new NodeUsbTransport({
      backend: backendOf([lazyDevice(1, 'Permission denied (os error 13)')]),
    });
    expect(await t.list()).toMatchObject([{ key: 'h1', portPath: '1-4.2', serialNumber: undefined }]);
  });

  it('open() waits for it to become readable', async () => {
    const dev = lazyDevice(3);
    const t = new NodeUsbTransport({ backend: backendOf([dev]), openRetryMs: 1 });
    const h = await t.open(deviceInfoOf(fakeDevice()));
    expect(h.info.serialNumber).toBe('e00fce68ffffffffffffffff');
  });

  it('watch() does not let the getter error escape into usb@3 event dispatch', async () => {
    const target = new EventTarget();
    const backend: UsbBackend = {
      getDevices: async () => [],
      addEventListener: (type, l) => target.addEventListener(type, l),
      removeEventListener: (type, l) => target.removeEventListener(type, l),
    };
    const events: string[] = [];
    const stop = new NodeUsbTransport({ backend }).watch((e) =>
      events.push(`${e.type} ${e.device.portPath}`),
    );
    await new Promise((r) => setTimeout(r, 10));
    const thrown: unknown[] = [];
    const onError = (e: unknown) => thrown.push(e);
    process.on('uncaughtException', onError);
    try {
      target.dispatchEvent(Object.assign(new Event('connect'), { device: lazyDevice(1) }));
      target.dispatchEvent(Object.assign(new Event('connect'), { device: lazyDevice(0) }));
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('uncaughtException', onError);
      stop();
    }
    expect(thrown).toEqual([]);
    expect(events).toEqual(['attach 1-4.2']);
  });
});

import { type DfuOpenOptions, DfuSession } from '../../core/dfu';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import type { ControlSetup, UsbDeviceHandle } from '../../core/usb/transport';

/** Seeded bytes that are never 0xFF, so an unprogrammed sector cannot pass for the image. */
export const pattern = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 0xfe;
  }
  return out;
};

export interface LoggedRequest {
  readonly dir: 'in' | 'out';
  readonly type: ControlSetup['requestType'];
  readonly request: number;
  readonly value: number;
  readonly length: number;
  readonly data?: Uint8Array;
}

/** Wraps a handle so a test can see every control request the engine sends, in order. */
export const recordingHandle = (
  inner: UsbDeviceHandle,
): { handle: UsbDeviceHandle; log: LoggedRequest[] } => {
  const log: LoggedRequest[] = [];
  const handle: UsbDeviceHandle = {
    info: inner.info,
    controlIn: (s, length, o) => {
      log.push({ dir: 'in', type: s.requestType, request: s.request, value: s.value, length });
      return inner.controlIn(s, length, o);
    },
    controlOut: (s, data, o) => {
      log.push({
        dir: 'out',
        type: s.requestType,
        request: s.request,
        value: s.value,
        length: data?.length ?? 0,
        ...(data ? { data: data.slice() } : {}),
      });
      return inner.controlOut(s, data, o);
    },
    claimInterface: (n) => inner.claimInterface(n),
    releaseInterface: (n) => inner.releaseInterface(n),
    selectAlternate: (n, a) => inner.selectAlternate(n, a),
    close: () => inner.close(),
  };
  return { handle, log };
};

/** DFU class requests only (descriptor reads and SET_INTERFACE filtered out). */
export const dfuRequests = (log: readonly LoggedRequest[]): LoggedRequest[] =>
  log.filter((r) => r.type === 'class');

/**
 * A simulated device in DFU mode on a SimBus, opened. Time is scaled to zero and the device reports
 * bwPollTimeout 0 (Particle bootloader v12+ does), so tests run fast; the device still holds each
 * request until the modelled operation is done.
 */
export const openSim = async (
  platform: string,
  options: Partial<SimDeviceOptions> = {},
  open: DfuOpenOptions = {},
) => {
  const bus = new SimBus();
  const device = new SimDevice({
    platform,
    mode: 'dfu',
    seed: platform,
    timeScale: 0,
    ...options,
    timing: { pollTimeout: 0, ...options.timing },
  });
  bus.plug(device, '1-1.1');
  const [info] = await bus.list();
  if (!info) throw new Error('the simulated device did not enumerate');
  const { handle, log } = recordingHandle(await bus.open(info));
  const session = await DfuSession.open(handle, open);
  return { bus, device, info, handle, session, log };
};

export const flashBytes = (device: SimDevice, alt: number, address: number, length: number): Uint8Array => {
  const flash = device.flash.get(alt);
  if (!flash) throw new Error(`no alt ${alt}`);
  return flash.read(address, length);
};

/**
 * Resolves at the device's next enumeration in `mode` (or rejects after `ms`). Subscribe before
 * the action that causes it; a test that fails earlier leaves no unhandled rejection behind.
 */
export const waitForMode = (device: SimDevice, mode: string, ms = 5000): Promise<void> => {
  const p = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`device did not come back in ${mode} mode`));
    }, ms);
    const off = device.on((e) => {
      if (e.type === 'connect' && e.mode === mode) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
  p.catch(() => undefined);
  return p;
};

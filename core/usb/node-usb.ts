import { type LsError, LsFailure } from '../errors/result';
import { normalizeSerial, usbIdText } from './descriptors';
import { classifyNativeUsbError, usbCodeOf, usbError, usbFailure } from './errors';
import type {
  ControlSetup,
  TransferOptions,
  UsbDeviceHandle,
  UsbDeviceInfo,
  UsbErrorCode,
  UsbEvent,
  UsbTransport,
} from './transport';

/*
 * The real UsbTransport over usb@3 (node-usb-rs, a WebUSB-style API on nusb). We use the
 * `native*` control transfer methods because they take a per-transfer timeout; the WebUSB ones
 * only have a global default.
 */

/** The parts of a usb@3 `UsbDevice` we use; fakes in tests implement the same shape. */
export interface NativeUsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly bus: string;
  readonly ports: readonly number[];
  readonly handle: string;
  readonly serialNumber: string | null;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  open(): Promise<void>;
  close(): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  nativeControlTransferIn(setup: ControlSetup, timeout: number, length: number): Promise<Uint8Array | null>;
  nativeControlTransferOut(setup: ControlSetup, timeout: number, data?: Uint8Array | null): Promise<number>;
}

type ConnectionListener = (event: Event) => void;

/** The parts of usb@3's `WebUSB` we use. */
export interface UsbBackend {
  getDevices(): Promise<readonly NativeUsbDevice[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: ConnectionListener): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: ConnectionListener): void;
}

export interface NodeUsbOptions {
  /** Defaults to usb@3's shared `usb` object (all devices allowed), loaded on first use. */
  readonly backend?: UsbBackend;
  /** Problems that have no caller to reject (hot-plug unavailable); the transport carries on. */
  readonly onError?: (error: LsError) => void;
  /**
   * How long `open()` keeps trying a device that has just (re-)enumerated but cannot be opened
   * yet. Default 1500 ms; 0 disables the retry.
   */
  readonly openSettleMs?: number;
  /** Pause between those attempts. Default 50 ms. */
  readonly openRetryMs?: number;
}

/** Per-call options of `NodeUsbTransport.open` (a superset of the UsbTransport seam's). */
export interface NodeUsbOpenOptions {
  readonly signal?: AbortSignal | undefined;
}

const DEFAULT_OPEN_SETTLE_MS = 1500;
const DEFAULT_OPEN_RETRY_MS = 50;

/**
 * Failures of `open()` that a device which has just appeared goes through before it settles.
 * Linux creates the sysfs entry (which usb@3 lists) before devtmpfs/udev create the
 * /dev/bus/usb node (ENOENT: "device not found (errno 2)") and before udev's rules grant access
 * (EACCES for the first moments); a device mid-re-enumeration may also be briefly unlisted.
 * Busy, stall and timeout are not here: waiting would not change them.
 */
const SETTLING = new Set<UsbErrorCode>(['USB_NOT_FOUND', 'USB_DISCONNECTED', 'USB_ACCESS_DENIED']);

const abortError = (): DOMException => new DOMException('Aborted', 'AbortError');

/** Sleeps `ms`, rejecting early with an AbortError when `signal` fires. */
const pause = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * `1-2.3`: bus number, then the chain of hub ports. usb@3 reports `bus` as the bus id (on Linux
 * "1" or "001"; some builds include the chain) and `ports` as numbers; we accept both shapes.
 */
export const portPathOf = (bus: string, ports: readonly number[]): string => {
  const m = /^0*(\d+)(?:-(.+))?$/.exec(bus.trim());
  const busNumber = m ? m[1] : bus.trim();
  if (ports.length > 0) return `${busNumber}-${ports.join('.')}`;
  if (m?.[2]) return `${busNumber}-${m[2]}`;
  return `${busNumber}`;
};

export const deviceInfoOf = (d: NativeUsbDevice): UsbDeviceInfo => ({
  key: d.handle,
  portPath: portPathOf(d.bus, d.ports),
  vendorId: d.vendorId,
  productId: d.productId,
  serialNumber: normalizeSerial(d.serialNumber ?? undefined),
  manufacturer: d.manufacturerName ?? undefined,
  product: d.productName ?? undefined,
});

/**
 * `deviceInfoOf` for a device that may not be readable yet. usb@3 reads some properties lazily
 * (string descriptors through the device node), so a device listed from sysfs a moment before its
 * /dev/bus/usb node exists throws "open error: device not found (errno 2)" from a property
 * getter. Such a device is not there yet for us: `settling` (callers skip it and look again).
 * Any other failure (access denied) keeps the device with only what could be read, so the
 * problem surfaces when it is opened instead of the device silently missing from the list.
 */
export const describeDevice = (
  d: NativeUsbDevice,
): { readonly info: UsbDeviceInfo } | { readonly settling: LsFailure } | undefined => {
  try {
    return { info: deviceInfoOf(d) };
  } catch (e) {
    const failure = wrapNative(e, 'reading the device descriptors');
    const code = usbCodeOf(failure);
    if (code === 'USB_DISCONNECTED' || code === 'USB_NOT_FOUND') return { settling: failure };
    try {
      return {
        info: {
          key: d.handle,
          portPath: portPathOf(d.bus, d.ports),
          vendorId: d.vendorId,
          productId: d.productId,
          serialNumber: undefined,
        },
      };
    } catch {
      return undefined;
    }
  }
};

/** The infos of the devices that can be described now (see describeDevice). */
const describeAll = (devices: readonly NativeUsbDevice[]): UsbDeviceInfo[] => {
  const out: UsbDeviceInfo[] = [];
  for (const d of devices) {
    const r = describeDevice(d);
    if (r && 'info' in r) out.push(r.info);
  }
  return out;
};

const loadDefaultBackend = async (): Promise<UsbBackend> => {
  const mod = await import('usb');
  return mod.usb as unknown as UsbBackend;
};

/** getDevices() rejects where there is no bus (no /sys/bus/usb, no permission to list). */
const unavailable = (e: unknown): LsFailure => {
  const text = e instanceof Error ? e.message : String(e);
  if (classifyNativeUsbError(e) === 'USB_ACCESS_DENIED') return usbFailure('USB_ACCESS_DENIED', text);
  return usbFailure('USB_UNAVAILABLE', text);
};

const wrapNative = (e: unknown, what: string): LsFailure => {
  if (e instanceof LsFailure) return e;
  const detail = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  return usbFailure(classifyNativeUsbError(e), detail);
};

/** Races a native promise (which cannot be cancelled) against the caller's AbortSignal. */
const abortable = <T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new DOMException('Aborted', 'AbortError'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DOMException('Aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
};

/**
 * After a STALL, how long (and how often) we look for the device on the bus. A cable pulled
 * mid-transfer can stall the request in flight a moment before the device leaves the bus (the
 * function goes first, then the port); that is a disconnect, and it must be named as one. A device
 * still listed at the end of the window really refused the request. Costs a genuine STALL this
 * window, which is rare (a DFU error, an unsupported Particle request) and already a slow path.
 */
const STALL_GONE_CHECKS_MS: readonly number[] = [0, 50, 100, 150, 200, 250];

/** True when the device is no longer listed; undefined when the bus cannot be listed. */
type GoneProbe = () => Promise<boolean | undefined>;

class NodeUsbHandle implements UsbDeviceHandle {
  readonly info: UsbDeviceInfo;
  private readonly device: NativeUsbDevice;
  private readonly isGone: GoneProbe;
  private closed = false;

  constructor(device: NativeUsbDevice, info: UsbDeviceInfo, isGone: GoneProbe) {
    this.device = device;
    this.info = info;
    this.isGone = isGone;
  }

  private check(): void {
    if (this.closed) throw usbFailure('USB_DISCONNECTED', 'the handle is closed');
  }

  /** A STALL, or USB_DISCONNECTED when the device leaves the bus right after it (see above). */
  private async stallOrGone(setup: ControlSetup, stall: LsFailure): Promise<LsFailure> {
    const started = Date.now();
    for (const wait of STALL_GONE_CHECKS_MS) {
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const gone = await this.isGone();
      if (gone === undefined) return stall;
      if (gone)
        return usbFailure(
          'USB_DISCONNECTED',
          `request ${setup.request} stalled, then the device left the bus`,
          {
            request: setup.request,
            portPath: this.info.portPath,
            goneAfterMs: Date.now() - started,
          },
        );
    }
    return stall;
  }

  /** Maps a failed transfer to our codes, telling a disconnect-shaped STALL from a real one. */
  private async transferFailure(e: unknown, setup: ControlSetup, direction: string): Promise<LsFailure> {
    const failure = wrapNative(e, `control ${direction} request ${setup.request}`);
    return failure.error.code === 'USB_STALL' ? this.stallOrGone(setup, failure) : failure;
  }

  async controlIn(setup: ControlSetup, length: number, options: TransferOptions): Promise<Uint8Array> {
    this.check();
    let data: Uint8Array | null;
    try {
      data = await abortable(
        this.device.nativeControlTransferIn(setup, options.timeoutMs, length),
        options.signal,
      );
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw await this.transferFailure(e, setup, 'IN');
    }
    if (data === null)
      throw await this.stallOrGone(
        setup,
        usbFailure('USB_STALL', `request ${setup.request}`, { request: setup.request }),
      );
    return data;
  }

  async controlOut(
    setup: ControlSetup,
    data: Uint8Array | undefined,
    options: TransferOptions,
  ): Promise<void> {
    this.check();
    let written: number;
    try {
      written = await abortable(
        this.device.nativeControlTransferOut(setup, options.timeoutMs, data ?? new Uint8Array(0)),
        options.signal,
      );
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw await this.transferFailure(e, setup, 'OUT');
    }
    if (written < 0)
      throw await this.stallOrGone(
        setup,
        usbFailure('USB_STALL', `request ${setup.request}`, { request: setup.request }),
      );
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.check();
    await this.device.claimInterface(interfaceNumber).catch((e: unknown) => {
      throw wrapNative(e, `claiming interface ${interfaceNumber}`);
    });
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.check();
    await this.device.releaseInterface(interfaceNumber).catch((e: unknown) => {
      throw wrapNative(e, `releasing interface ${interfaceNumber}`);
    });
  }

  async selectAlternate(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.check();
    await this.device.selectAlternateInterface(interfaceNumber, alternateSetting).catch((e: unknown) => {
      throw wrapNative(e, `selecting alt setting ${alternateSetting}`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.device.close().catch(() => undefined);
  }
}

export class NodeUsbTransport implements UsbTransport {
  private backend: UsbBackend | undefined;
  private readonly injected: UsbBackend | undefined;
  private readonly onError: ((error: LsError) => void) | undefined;
  private readonly openSettleMs: number;
  private readonly openRetryMs: number;

  constructor(options: NodeUsbOptions = {}) {
    this.injected = options.backend;
    this.onError = options.onError;
    this.openSettleMs = Math.max(0, options.openSettleMs ?? DEFAULT_OPEN_SETTLE_MS);
    this.openRetryMs = Math.max(1, options.openRetryMs ?? DEFAULT_OPEN_RETRY_MS);
  }

  private async getBackend(): Promise<UsbBackend> {
    if (this.backend) return this.backend;
    if (this.injected) {
      this.backend = this.injected;
      return this.backend;
    }
    try {
      this.backend = await loadDefaultBackend();
      return this.backend;
    } catch (e) {
      // The native module itself failed to load (unsupported OS/arch): same answer, no USB here.
      throw usbFailure('USB_UNAVAILABLE', e instanceof Error ? e.message : String(e));
    }
  }

  private async devices(): Promise<readonly NativeUsbDevice[]> {
    const backend = await this.getBackend();
    try {
      return await backend.getDevices();
    } catch (e) {
      throw unavailable(e);
    }
  }

  async list(): Promise<UsbDeviceInfo[]> {
    return describeAll(await this.devices());
  }

  /**
   * Hot-plug events. usb@3 starts its native watcher when the first listener is added, and where
   * there is no bus that start fails as an unhandled rejection (and a timer rethrow) that would
   * crash the process. So we list first and subscribe only when the bus answers; otherwise we
   * report USB_UNAVAILABLE through `onError` and return a no-op unsubscribe.
   */
  watch(listener: (event: UsbEvent) => void): () => void {
    let active = true;
    let unsubscribe: (() => void) | undefined;
    const known = new Map<string, UsbDeviceInfo>();
    void (async () => {
      let backend: UsbBackend;
      try {
        for (const info of describeAll(await this.devices())) known.set(info.key, info);
        backend = await this.getBackend();
      } catch (e) {
        this.onError?.(e instanceof LsFailure ? e.error : usbError('USB_UNAVAILABLE', String(e)));
        return;
      }
      if (!active) return;
      const onConnect: ConnectionListener = (event) => {
        const device = (event as Event & { device?: NativeUsbDevice }).device;
        if (!device) return;
        // A throw here would escape into usb@3's event dispatch and crash the process; a device
        // that cannot be described yet is found by the listeners' next scan instead.
        const described = describeDevice(device);
        if (!described || !('info' in described)) return;
        known.set(described.info.key, described.info);
        listener({ type: 'attach', device: described.info });
      };
      const onDisconnect: ConnectionListener = (event) => {
        const device = (event as Event & { device?: NativeUsbDevice }).device;
        if (!device) return;
        let key: string;
        try {
          key = device.handle;
        } catch {
          return;
        }
        const described = describeDevice(device);
        const info = known.get(key) ?? (described && 'info' in described ? described.info : undefined);
        known.delete(key);
        if (info) listener({ type: 'detach', device: info });
      };
      backend.addEventListener('connect', onConnect);
      backend.addEventListener('disconnect', onDisconnect);
      unsubscribe = () => {
        backend.removeEventListener('connect', onConnect);
        backend.removeEventListener('disconnect', onDisconnect);
      };
    })();
    return () => {
      active = false;
      unsubscribe?.();
    };
  }

  /**
   * Opens the device `info` names (by enumeration key, else the same port path and VID:PID). A
   * device that has just (re-)enumerated is retried for up to `openSettleMs` while it settles (see
   * SETTLING); any other failure, or one that outlasts the window, is reported at once as it is.
   */
  async open(info: UsbDeviceInfo, options: NodeUsbOpenOptions = {}): Promise<UsbDeviceHandle> {
    const settleMs = this.openSettleMs;
    const deadline = Date.now() + settleMs;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw abortError();
      try {
        return await this.openOnce(info);
      } catch (e) {
        const code = usbCodeOf(e);
        if (!code || !SETTLING.has(code) || Date.now() >= deadline) {
          if (attempt > 1 && e instanceof LsFailure)
            throw new LsFailure({
              ...e.error,
              details: { ...(e.error.details ?? {}), attempts: attempt, settleMs },
            });
          throw e;
        }
      }
      await pause(Math.min(this.openRetryMs, Math.max(0, deadline - Date.now())), options.signal);
    }
  }

  private async openOnce(info: UsbDeviceInfo): Promise<UsbDeviceHandle> {
    const devices = await this.devices();
    const described = devices.map((d) => ({ d, r: describeDevice(d) }));
    const settling = described.find((x) => {
      if (!x.r || !('settling' in x.r)) return false;
      try {
        return x.d.vendorId === info.vendorId && x.d.productId === info.productId;
      } catch {
        return true;
      }
    });
    const listed = described.flatMap((x) => (x.r && 'info' in x.r ? [{ d: x.d, info: x.r.info }] : []));
    const device = (
      listed.find((x) => x.info.key === info.key) ??
      listed.find(
        (x) =>
          x.info.portPath === info.portPath &&
          x.info.vendorId === info.vendorId &&
          x.info.productId === info.productId,
      )
    )?.d;
    // Ours is listed but not readable yet: the same transient failure the retry waits out.
    if (!device && settling?.r && 'settling' in settling.r) throw settling.r.settling;
    if (!device)
      throw usbFailure('USB_NOT_FOUND', `${info.portPath} ${usbIdText(info)}`, {
        portPath: info.portPath,
      });
    try {
      await device.open();
    } catch (e) {
      throw wrapNative(e, `opening ${info.portPath}`);
    }
    const opened = describeDevice(device);
    const key = opened && 'info' in opened ? opened.info.key : info.key;
    return new NodeUsbHandle(device, opened && 'info' in opened ? opened.info : info, async () => {
      try {
        return !(await this.devices()).some((d) => d.handle === key);
      } catch {
        return undefined;
      }
    });
  }
}

import { LsFailure } from '../errors/result';
import type {
  ControlSetup,
  TransferOptions,
  UsbDeviceHandle,
  UsbDeviceInfo,
  UsbErrorCode,
  UsbEvent,
  UsbTransport,
} from '../usb/transport';
import type { SimDevice } from './device';
import type { ControlResult, SetupPacket } from './types';

const usbFail = (
  code: UsbErrorCode,
  message: string,
  remedy?: string,
  details?: Record<string, unknown>,
): never => {
  throw new LsFailure({ code, message, ...(remedy ? { remedy } : {}), ...(details ? { details } : {}) });
};

const TYPE_BITS = { standard: 0, class: 1, vendor: 2 } as const;
const RECIPIENT_BITS = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

/** `1-1.1` … `1-1.24`: port paths of a hub chain, as Linux names them (bus-port.port). */
export const portPaths = (count: number, hub = '1-1'): string[] =>
  Array.from({ length: count }, (_, i) => `${hub}.${i + 1}`);

interface Slot {
  device: SimDevice;
  portPath: string;
  info: UsbDeviceInfo | undefined;
  unsubscribe: () => void;
}

/**
 * An in-process USB bus hosting simulated devices on port paths. It implements the same
 * `UsbTransport` seam as the real `usb@3` adapter: attach/detach events, open, control transfers
 * with per-transfer timeouts and AbortSignal. A detached device fails transfers with
 * USB_DISCONNECTED, a STALL with USB_STALL, a transfer the device never completes with USB_TIMEOUT.
 */
export class SimBus implements UsbTransport {
  private readonly slots = new Map<string, Slot>();
  private readonly listeners = new Set<(e: UsbEvent) => void>();
  private nextKey = 1;
  /** Interfaces claimed per device key (the kernel allows one claimer per interface). */
  private readonly claims = new Map<string, Set<number>>();

  /** Plugs `device` into `portPath` and powers it on. */
  plug(device: SimDevice, portPath: string): void {
    if (this.slots.has(portPath)) throw new Error(`Port ${portPath} is occupied`);
    const slot: Slot = { device, portPath, info: undefined, unsubscribe: () => undefined };
    slot.unsubscribe = device.on((e) => {
      if (e.type === 'disconnect') this.detached(slot);
      else if (e.movedTo && e.movedTo !== slot.portPath && !this.slots.has(e.movedTo)) {
        this.slots.delete(slot.portPath);
        slot.portPath = e.movedTo;
        this.slots.set(slot.portPath, slot);
        this.attached(slot);
      } else this.attached(slot);
    });
    this.slots.set(portPath, slot);
    if (device.connected) this.attached(slot);
    else device.powerOn();
  }

  /** Pulls the device out of `portPath` (it loses power). Returns it, so it can be plugged back. */
  unplug(portPath: string): SimDevice | undefined {
    const slot = this.slots.get(portPath);
    if (!slot) return undefined;
    slot.device.powerOff('unplugged');
    slot.unsubscribe();
    this.detached(slot);
    this.slots.delete(portPath);
    return slot.device;
  }

  /** The device in `portPath`, attached or not (it may be re-enumerating). */
  deviceAt(portPath: string): SimDevice | undefined {
    return this.slots.get(portPath)?.device;
  }

  /** Occupied port paths. */
  ports(): string[] {
    return [...this.slots.keys()];
  }

  /** Unplugs everything and cancels device timers (test teardown). */
  dispose(): void {
    for (const p of [...this.slots.keys()]) this.unplug(p)?.dispose();
    this.listeners.clear();
  }

  private attached(slot: Slot): void {
    if (slot.info) this.detached(slot);
    const d = slot.device.descriptors;
    const info: UsbDeviceInfo = {
      key: `sim:${slot.portPath}#${this.nextKey++}`,
      portPath: slot.portPath,
      vendorId: d.vendorId,
      productId: d.productId,
      serialNumber: d.serialNumber,
      manufacturer: d.manufacturer,
      product: d.product,
    };
    slot.info = info;
    this.emit({ type: 'attach', device: info });
  }

  private detached(slot: Slot): void {
    const info = slot.info;
    if (!info) return;
    slot.info = undefined;
    this.claims.delete(info.key);
    this.emit({ type: 'detach', device: info });
  }

  private emit(e: UsbEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the bus from telling the others.
      }
    }
  }

  async list(): Promise<UsbDeviceInfo[]> {
    const out: UsbDeviceInfo[] = [];
    for (const s of this.slots.values()) if (s.info) out.push(s.info);
    return out;
  }

  watch(listener: (event: UsbEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private slotByKey(key: string): Slot | undefined {
    for (const s of this.slots.values()) if (s.info?.key === key) return s;
    return undefined;
  }

  async open(device: UsbDeviceInfo): Promise<UsbDeviceHandle> {
    const slot = this.slotByKey(device.key);
    if (!slot?.info) {
      return usbFail(
        'USB_NOT_FOUND',
        `No device ${device.key} on port ${device.portPath} any more.`,
        undefined,
        {
          portPath: device.portPath,
        },
      );
    }
    return new SimHandle(this, slot.info, slot.device);
  }

  /** @internal bookkeeping for SimHandle */
  isAttached(key: string): boolean {
    return this.slotByKey(key) !== undefined;
  }

  /** @internal */
  claim(key: string, iface: number): boolean {
    let set = this.claims.get(key);
    if (!set) {
      set = new Set();
      this.claims.set(key, set);
    }
    if (set.has(iface)) return false;
    set.add(iface);
    return true;
  }

  /** @internal */
  release(key: string, iface: number): void {
    this.claims.get(key)?.delete(iface);
  }
}

class SimHandle implements UsbDeviceHandle {
  private closed = false;
  private readonly claimed = new Set<number>();

  constructor(
    private readonly bus: SimBus,
    readonly info: UsbDeviceInfo,
    private readonly device: SimDevice,
  ) {}

  private ensureUsable(): void {
    if (this.closed) usbFail('USB_IO', 'The device handle is closed.');
    if (!this.bus.isAttached(this.info.key)) this.gone();
  }

  private gone(): never {
    return usbFail(
      'USB_DISCONNECTED',
      `The device on port ${this.info.portPath} disconnected.`,
      'Check the cable and the port; if the device was resetting, wait for it to come back.',
      { portPath: this.info.portPath },
    );
  }

  private setup(s: ControlSetup, directionIn: boolean, length: number): SetupPacket {
    return {
      bmRequestType: (directionIn ? 0x80 : 0) | (TYPE_BITS[s.requestType] << 5) | RECIPIENT_BITS[s.recipient],
      bRequest: s.request & 0xff,
      wValue: s.value & 0xffff,
      wIndex: s.index & 0xffff,
      wLength: length,
    };
  }

  private async transfer(
    setup: SetupPacket,
    data: Uint8Array | undefined,
    options: TransferOptions,
  ): Promise<ControlResult> {
    this.ensureUsable();
    if (options.signal?.aborted)
      throw new LsFailure({ code: 'ABORTED', message: 'The operation was cancelled.' });
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    const aborted = new Promise<'aborted'>((resolve) => {
      controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    // A pulled cable fails the URB at once (ENODEV), even while the device would still be busy.
    let unwatch: () => void = () => undefined;
    const gone = new Promise<'gone'>((resolve) => {
      unwatch = this.bus.watch((e) => {
        if (e.type === 'detach' && e.device.key === this.info.key) resolve('gone');
      });
    });
    // A device that NAKs forever is left to the host's timeout, as libusb does.
    const answered = this.device
      .handleControl(setup, data, controller.signal)
      .then((r) => (r.status === 'nak' ? new Promise<never>(() => undefined) : r));
    try {
      const r = await Promise.race([answered, timedOut, aborted, gone]);
      if (r === 'gone') {
        controller.abort();
        return { status: 'disconnected' };
      }
      if (r === 'timeout') {
        controller.abort();
        return usbFail(
          'USB_TIMEOUT',
          `The device on port ${this.info.portPath} did not answer within ${options.timeoutMs} ms.`,
          undefined,
          { portPath: this.info.portPath, request: setup.bRequest },
        );
      }
      if (r === 'aborted') throw new LsFailure({ code: 'ABORTED', message: 'The operation was cancelled.' });
      return r;
    } finally {
      if (timer) clearTimeout(timer);
      unwatch();
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private check(r: ControlResult, setup: SetupPacket): void {
    if (r.status === 'disconnected') this.gone();
    if (r.status === 'stall') {
      usbFail('USB_STALL', `The device stalled request 0x${setup.bRequest.toString(16)}.`, undefined, {
        portPath: this.info.portPath,
        bmRequestType: setup.bmRequestType,
        request: setup.bRequest,
        value: setup.wValue,
      });
    }
  }

  async controlIn(s: ControlSetup, length: number, options: TransferOptions): Promise<Uint8Array> {
    const setup = this.setup(s, true, length);
    const r = await this.transfer(setup, undefined, options);
    this.check(r, setup);
    return r.status === 'ok' && r.data ? r.data : new Uint8Array(0);
  }

  async controlOut(s: ControlSetup, data: Uint8Array | undefined, options: TransferOptions): Promise<void> {
    const setup = this.setup(s, false, data?.length ?? 0);
    const r = await this.transfer(setup, data, options);
    this.check(r, setup);
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.ensureUsable();
    if (!this.device.descriptors.interfaces.has(interfaceNumber)) {
      usbFail('USB_NOT_FOUND', `The device has no interface ${interfaceNumber}.`);
    }
    if (this.claimed.has(interfaceNumber)) return;
    if (!this.bus.claim(this.info.key, interfaceNumber)) {
      usbFail(
        'USB_BUSY',
        `Interface ${interfaceNumber} of the device on port ${this.info.portPath} is claimed by another program.`,
        'Close other tools using the device (particle-cli, dfu-util) and retry.',
      );
    }
    this.claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    if (!this.claimed.delete(interfaceNumber)) return;
    this.bus.release(this.info.key, interfaceNumber);
  }

  async selectAlternate(interfaceNumber: number, alternateSetting: number): Promise<void> {
    if (!this.claimed.has(interfaceNumber)) {
      usbFail(
        'USB_IO',
        `Interface ${interfaceNumber} must be claimed before selecting an alternate setting.`,
      );
    }
    // SET_INTERFACE goes over ep0 like on a real bus, so the device model decides.
    await this.controlOut(
      {
        requestType: 'standard',
        recipient: 'interface',
        request: 0x0b,
        value: alternateSetting,
        index: interfaceNumber,
      },
      undefined,
      { timeoutMs: 5000 },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const i of [...this.claimed]) await this.releaseInterface(i);
    this.closed = true;
  }
}

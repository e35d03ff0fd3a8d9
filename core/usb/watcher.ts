import { type LsError, ok, type Result, toLsError } from '../errors/result';
import { type DeviceIdentity, identifyDevice, recognise } from './identity';
import type { SerialPortLister } from './serial-ports';
import { assignSlots, comparePortPaths, type SlotLabels, type SlottedDevice } from './slots';
import type { UsbDeviceInfo, UsbEvent, UsbTransport } from './transport';

/*
 * Hot-plug discovery. The transport's attach/detach events make it quick; a periodic rescan makes
 * it right, because not every platform delivers hot-plug events (and a missed detach would leave a
 * ghost slot). Both paths feed one queue, so identification of a device never races its own
 * detach.
 */

export interface IgnoredDevice {
  readonly key: string;
  readonly portPath: string;
  readonly vendorId: number;
  readonly productId: number;
  /** 'vendor': not Particle's VID; 'product': Particle's VID but a PID not in our platform table. */
  readonly reason: 'vendor' | 'product';
}

export type WatcherEvent =
  | { readonly type: 'attach'; readonly device: SlottedDevice }
  | { readonly type: 'detach'; readonly device: SlottedDevice }
  /** A device's flags changed (another device with the same ID came or went). */
  | { readonly type: 'changed'; readonly device: SlottedDevice }
  | { readonly type: 'ignored'; readonly device: IgnoredDevice }
  | { readonly type: 'error'; readonly error: LsError };

export interface WatcherOptions {
  readonly transport: UsbTransport;
  /** Rescan period; 0 disables the fallback (tests driving events only). Default 2000 ms. */
  readonly rescanIntervalMs?: number;
  /**
   * Subscribe to the transport's hot-plug events (default true). A one-shot listing turns this
   * off so the native hot-plug machinery is never started just to be stopped again.
   */
  readonly hotplug?: boolean;
  /** Open normal-mode devices to ask their mode (default true). */
  readonly probe?: boolean;
  readonly requestTimeoutMs?: number;
  readonly serialPorts?: SerialPortLister;
  readonly slots?: SlotLabels;
}

export class DeviceWatcher {
  private readonly known = new Map<string, DeviceIdentity>();
  private readonly ignoredDevices = new Map<string, IgnoredDevice>();
  /**
   * Devices being identified, by key. Identification (opening the device, GET_DEVICE_MODE) runs
   * outside the queue so sixteen devices plugged at once are probed in parallel, not one by one;
   * a detach while it runs cancels it (the entry disappears and its result is dropped).
   */
  private readonly identifying = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(event: WatcherEvent) => void>();
  private queue: Promise<void> = Promise.resolve();
  private unwatch: (() => void) | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;

  constructor(private readonly options: WatcherOptions) {}

  /** Lists what is attached now and starts watching. Fails with USB_UNAVAILABLE where there is no bus. */
  async start(): Promise<Result<void>> {
    if (this.running) return ok(undefined);
    this.running = true;
    if (this.options.hotplug !== false)
      this.unwatch = this.options.transport.watch((event) => this.enqueue(() => this.onEvent(event)));
    const first = await this.rescan();
    if (!first.ok) {
      this.stop();
      return first;
    }
    // Callers read devices() right after start(): let the first identifications finish.
    await this.settled();
    const every = this.options.rescanIntervalMs ?? 2000;
    if (every > 0) {
      this.timer = setInterval(() => {
        void this.rescan().then((r) => {
          if (!r.ok) this.emit({ type: 'error', error: r.error });
        });
      }, every);
      this.timer.unref?.();
    }
    return ok(undefined);
  }

  stop(): void {
    this.running = false;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  subscribe(listener: (event: WatcherEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Recognised devices, by port path, with slot labels and duplicate-ID flags. */
  devices(): SlottedDevice[] {
    const list = [...this.known.values()].sort((a, b) => comparePortPaths(a.portPath, b.portPath));
    return assignSlots(list, this.options.slots);
  }

  ignored(): IgnoredDevice[] {
    return [...this.ignoredDevices.values()];
  }

  /** Compares the bus with what we know: attaches the new, detaches the gone. */
  rescan(): Promise<Result<void>> {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        let list: UsbDeviceInfo[];
        try {
          list = await this.options.transport.list();
        } catch (e) {
          resolve({ ok: false, error: toLsError(e, 'USB_IO') });
          return;
        }
        const present = new Set(list.map((d) => d.key));
        for (const key of [...this.known.keys(), ...this.ignoredDevices.keys(), ...this.identifying.keys()])
          if (!present.has(key)) await this.detach(key);
        for (const info of list) if (!this.isTracked(info.key)) await this.attach(info);
        resolve(ok(undefined));
      });
    });
  }

  /** Resolves when every queued event and identification has been handled. */
  async settled(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => this.enqueue(async () => resolve()));
      if (this.identifying.size === 0) return;
      await Promise.all(this.identifying.values());
    }
  }

  private isTracked(key: string): boolean {
    return this.known.has(key) || this.ignoredDevices.has(key) || this.identifying.has(key);
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((e) => this.emit({ type: 'error', error: toLsError(e) }));
  }

  private async onEvent(event: UsbEvent): Promise<void> {
    if (!this.running) return;
    if (event.type === 'attach') {
      if (!this.isTracked(event.device.key)) await this.attach(event.device);
    } else {
      await this.detach(event.device.key);
    }
  }

  private async attach(info: UsbDeviceInfo): Promise<void> {
    const r = recognise(info);
    if (r.kind === 'ignored') {
      const device: IgnoredDevice = {
        key: info.key,
        portPath: info.portPath,
        vendorId: info.vendorId,
        productId: info.productId,
        reason: r.reason,
      };
      this.ignoredDevices.set(info.key, device);
      this.emit({ type: 'ignored', device });
      return;
    }
    const key = info.key;
    const job: Promise<void> = (async () => {
      const serialPorts = this.options.serialPorts && !r.dfu ? await this.options.serialPorts() : undefined;
      const identity = await identifyDevice(this.options.transport, info, r.platform, r.dfu, {
        probe: this.options.probe ?? true,
        ...(serialPorts ? { serialPorts } : {}),
        ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      });
      await new Promise<void>((done) =>
        this.enqueue(async () => {
          // Detached (or the watcher stopped) while we were probing: drop the result.
          if (this.identifying.get(key) === job && this.running) {
            this.identifying.delete(key);
            const before = this.flagsByKey();
            this.known.set(key, identity);
            const device = this.slotted(key);
            if (device) this.emit({ type: 'attach', device });
            this.emitChanged(before, key);
          }
          done();
        }),
      );
    })().catch((e) => {
      this.identifying.delete(key);
      this.emit({ type: 'error', error: toLsError(e) });
    });
    this.identifying.set(key, job);
  }

  private async detach(key: string): Promise<void> {
    if (this.ignoredDevices.delete(key)) return;
    if (this.identifying.delete(key)) return;
    const device = this.slotted(key);
    if (!device) return;
    const before = this.flagsByKey();
    this.known.delete(key);
    this.emit({ type: 'detach', device });
    this.emitChanged(before, key);
  }

  private slotted(key: string): SlottedDevice | undefined {
    return this.devices().find((d) => d.key === key);
  }

  private flagsByKey(): Map<string, number> {
    return new Map(this.devices().map((d) => [d.key, d.errors.length]));
  }

  private emitChanged(before: Map<string, number>, except: string): void {
    for (const d of this.devices())
      if (d.key !== except && before.has(d.key) && before.get(d.key) !== d.errors.length)
        this.emit({ type: 'changed', device: d });
  }

  private emit(event: WatcherEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not stop discovery for every other slot.
      }
    }
  }
}

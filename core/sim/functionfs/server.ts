import { type LsError, toLsError } from '../../errors/result';
import type { SimDescriptors } from '../descriptors';
import { parseLayout } from '../flash';
import type { ControlResult, SetupPacket, SimDeviceEvent, SimMode } from '../types';
import type { FfsEvent, FfsFunctionDescriptors } from './blobs';
import { FfsEventType, isDeviceToHost } from './blobs';
import type { GadgetIdentity } from './configfs';
import { Ep0, type Ep0Outcome } from './ep0';
import { ACM_STRING_COUNT, fixedStrings, gadgetSpec } from './gadget-spec';

/*
 * Serves one simulated device through a configfs gadget: the kernel's own USB host stack (and so
 * dfu-util, usb@3, libusb, serialport) talks to it as to hardware. The device model is the same
 * object the in-process simulated bus uses; this class only moves control transfers between ep0
 * and `handleControl`, and turns the model's bus events into unbind/bind on the gadget's UDC:
 * - `disconnect` (leave, reset, DFU_MODE, fault): unbind; the host sees the device go away;
 * - `connect` (possibly in another mode): rewrite identity/functions, then bind again on the SAME
 *   UDC, so the device comes back on the same port path with its new product ID.
 */

/** What the server needs from a device model: core/sim's SimDevice has exactly this shape. */
export interface ServedDevice {
  readonly deviceId: string;
  readonly mode: SimMode;
  readonly connected: boolean;
  /** The descriptors of the current mode. */
  readonly descriptors: SimDescriptors;
  handleControl(setup: SetupPacket, dataOut?: Uint8Array): Promise<ControlResult>;
  /** Bus events the device starts by itself (reset, leave, fault, power); returns an unsubscribe. */
  on(listener: (event: SimDeviceEvent) => void): () => void;
}

/** The gadget operations the server uses (ConfigfsGadget; a fake in unit tests). */
export interface GadgetPort {
  readonly ffsMount: string;
  setIdentity(identity: GadgetIdentity): Promise<void>;
  setFunctions(withSerial: boolean): Promise<void>;
  /** Strings at fixed numbers (see ConfigfsGadget.setFixedStrings); false when they do not fit. */
  setFixedStrings(strings: ReadonlyMap<number, string>, reserve: number): Promise<boolean>;
  serialTty(): Promise<string>;
  bind(): Promise<void>;
  unbind(): Promise<void>;
}

/** One open ep0 (Ep0; a fake in unit tests). */
export interface Ep0Port {
  events(): Promise<FfsEvent[]>;
  readData(length: number): Promise<{ outcome: Ep0Outcome; data: Uint8Array }>;
  writeData(data: Uint8Array): Promise<Ep0Outcome>;
  ack(): Promise<Ep0Outcome>;
  stall(deviceToHost: boolean): Promise<Ep0Outcome>;
  close(): Promise<void>;
}

export type OpenEp0 = (
  mount: string,
  fn: FfsFunctionDescriptors,
  strings: readonly string[],
) => Promise<Ep0Port>;

export interface ServerEvents {
  /** The device is on the bus (after each bind). */
  attached?(mode: SimMode, productId: number): void;
  detached?(reason: string): void;
  /** The device-side CDC tty, whenever the device enumerates with a serial port. */
  serialTty?(tty: string): void;
  error?(error: LsError): void;
  log?(line: string): void;
  /** Every control transfer with the model's answer and how it ended on ep0 (tracing). */
  request?(setup: SetupPacket, result: ControlResult['status'], outcome: Ep0Outcome, ms: number): void;
}

/** How long a NAKed transfer is held: longer than any host's control timeout (particle-usb: 5 s). */
const NAK_HOLD_MS = 12_000;

const SET_INTERFACE = 11;

/**
 * DfuSe hosts select an alternate setting with SET_INTERFACE, which the kernel answers itself and
 * reports only as ENABLE, without the number. The address of the next SET_ADDRESS tells it back:
 * the alternate whose layout contains it (the current one first, as layouts may overlap).
 */
export class AltTracker {
  private ranges: { alt: number; start: number; end: number }[][] = [];
  current = 0;

  configure(descriptors: SimDescriptors): void {
    this.current = 0;
    this.ranges = [];
    const alts = descriptors.interfaces.get(0) ?? [];
    for (const alt of alts) {
      const layout = this.altString(descriptors, alt);
      if (!layout?.startsWith('@')) continue;
      try {
        this.ranges[alt] = parseLayout(layout).segments.map((s) => ({ alt, start: s.start, end: s.end }));
      } catch {
        // Not a DfuSe layout: nothing to infer from.
      }
    }
  }

  /** Returns the alternate to switch to before this request, if it is a DfuSe SET_ADDRESS elsewhere. */
  inferFrom(setup: SetupPacket, data: Uint8Array | undefined): number | undefined {
    if (setup.bmRequestType !== 0x21 || setup.bRequest !== 1 || setup.wValue !== 0) return undefined;
    if (data?.length !== 5 || data[0] !== 0x21) return undefined;
    const address = new DataView(data.buffer, data.byteOffset, 5).getUint32(1, true);
    const inside = (alt: number): boolean =>
      (this.ranges[alt] ?? []).some((r) => address >= r.start && address < r.end);
    if (inside(this.current)) return undefined;
    const alt = this.ranges.findIndex((_, i) => inside(i));
    return alt >= 0 ? alt : undefined;
  }

  private altString(d: SimDescriptors, alt: number): string | undefined {
    // The alternate's iInterface is in its interface descriptor; find it in the configuration.
    const c = d.configuration;
    for (let o = c[0] ?? 9; o + 1 < c.length; o += c[o] || 1) {
      if (c[o + 1] === 0x04 && c[o + 2] === 0 && c[o + 3] === alt) return d.strings.get(c[o + 8] ?? 0);
    }
    return undefined;
  }
}

const keyOf = (strings: ReadonlyMap<number, string>): string => JSON.stringify([...strings]);

export class FfsDeviceServer {
  private ep0: Ep0Port | undefined;
  private loop: Promise<void> | undefined;
  /** Gadget changes run one at a time, in order (bus events can arrive while one is running). */
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private readonly alts = new AltTracker();
  private stopped = false;
  /** The fixed-number strings as served now, and the string numbers the functions take after them. */
  private fixed: { strings: ReadonlyMap<number, string>; reserve: number } = {
    strings: new Map(),
    reserve: 0,
  };
  requests = 0;

  constructor(
    readonly device: ServedDevice,
    readonly gadget: GadgetPort,
    private readonly events: ServerEvents = {},
    private readonly openEp0: OpenEp0 = (mount, fn, strings) => Ep0.open(mount, fn, strings),
  ) {}

  /**
   * Follows the device onto the bus: enumerates it now if it is powered, and from then on whenever
   * it connects (power on, re-enumeration after a reset). Pulling the cable is the model's
   * `powerOff()`; its disconnect event unbinds the gadget.
   */
  async start(): Promise<void> {
    this.unsubscribe = this.device.on((e) => this.onDeviceEvent(e));
    if (this.device.connected) await this.enqueue(() => this.attach());
  }

  /** Resolves once every gadget change requested so far is done. */
  settled(): Promise<void> {
    return this.queue;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.enqueue(() => this.detach('stopped'));
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op, op);
    this.queue = next.catch((e: unknown) => this.events.error?.(toLsError(e, 'FFS_SERVER')));
    return next;
  }

  private onDeviceEvent(event: SimDeviceEvent): void {
    if (event.type === 'disconnect')
      void this.enqueue(() => this.detach(event.reason)).catch(() => undefined);
    else if (!this.stopped) void this.enqueue(() => this.attach()).catch(() => undefined);
  }

  private async attach(): Promise<void> {
    if (this.ep0 || this.stopped || !this.device.connected) return;
    const descriptors = this.device.descriptors;
    const spec = gadgetSpec(descriptors);
    await this.gadget.setIdentity(spec.identity);
    await this.gadget.setFunctions(spec.serial);
    // The configuration string (at most one) and the functions' strings come after ours.
    const reserve = 1 + spec.ffsStrings.length + (spec.serial ? ACM_STRING_COUNT : 0);
    if (!(await this.gadget.setFixedStrings(spec.fixedStrings, reserve)))
      this.events.log?.(
        `strings ${[...spec.fixedStrings.keys()].map((i) => `0x${i.toString(16)}`).join(', ')} not served: no room below 255 next to ${reserve} others`,
      );
    this.fixed = { strings: spec.fixedStrings, reserve };
    const ep0 = await this.openEp0(this.gadget.ffsMount, spec.ffs, spec.ffsStrings);
    this.ep0 = ep0;
    this.alts.configure(descriptors);
    this.loop = this.serve(ep0);
    await this.gadget.bind();
    this.events.attached?.(this.device.mode, spec.identity.productId);
    if (spec.serial) this.events.serialTty?.(await this.gadget.serialTty());
  }

  private async detach(reason: string): Promise<void> {
    const ep0 = this.ep0;
    if (!ep0) return;
    this.ep0 = undefined;
    // Unbinding queues UNBIND on ep0, which ends the serve loop's blocked read; only then may the
    // file be closed (a close under a blocked read would wait for it anyway).
    await this.gadget.unbind();
    await this.loop;
    await ep0.close();
    this.events.detached?.(reason);
  }

  private async serve(ep0: Ep0Port): Promise<void> {
    try {
      for (;;) {
        const events = await ep0.events();
        for (const event of events) {
          // A transfer that fails on ep0 is the host's problem to notice; the device keeps serving.
          if (event.type === FfsEventType.SETUP)
            await this.answer(ep0, event.setup).catch((e: unknown) => {
              const error = toLsError(e, 'FFS_SERVER');
              this.events.error?.({ ...error, details: { ...error.details, setup: event.setup } });
            });
          else if (event.type === FfsEventType.ENABLE) this.alts.current = 0;
        }
        if (this.ep0 !== ep0 && events.some((e) => e.type === FfsEventType.UNBIND)) return;
      }
    } catch (e) {
      if (this.ep0 === ep0) this.events.error?.(toLsError(e, 'FFS_SERVER'));
    }
  }

  private async answer(ep0: Ep0Port, setup: SetupPacket): Promise<void> {
    this.requests++;
    const toHost = isDeviceToHost(setup);
    let data: Uint8Array | undefined;
    if (!toHost && setup.wLength > 0) {
      const read = await ep0.readData(setup.wLength);
      if (read.outcome !== 'done') return;
      data = read.data;
    }
    const alt = this.alts.inferFrom(setup, data);
    if (alt !== undefined) {
      const r = await this.device.handleControl({
        bmRequestType: 0x01,
        bRequest: SET_INTERFACE,
        wValue: alt,
        wIndex: setup.wIndex,
        wLength: 0,
      });
      if (r.status === 'ok') this.alts.current = alt;
    }
    const t0 = performance.now();
    const result = await this.device.handleControl(setup, data);
    const outcome = await this.complete(ep0, setup, toHost, result);
    this.followFixedStrings();
    this.events.request?.(setup, result.status, outcome, performance.now() - t0);
    if (outcome === 'cancelled') this.events.log?.(`request ${setup.bRequest} cancelled by the host`);
  }

  /**
   * A request can change what a fixed-number string says (0xFB clears the Service Mode override:
   * 0xFA goes from sm=s to sm=p): the new text is written in place, which the bound gadget serves
   * at once. Other changes wait for the next enumeration. Queued behind any re-enumeration, never
   * awaited here (a detach waits for this loop).
   */
  private followFixedStrings(): void {
    const changed = (): ReadonlyMap<number, string> | undefined => {
      const now = fixedStrings(this.device.descriptors);
      const served = this.fixed.strings;
      if (!this.ep0 || !this.device.connected || keyOf(now) === keyOf(served)) return undefined;
      const sameNumbers = now.size === served.size && [...now.keys()].every((i) => served.has(i));
      return sameNumbers ? now : undefined;
    };
    if (!changed()) return;
    void this.enqueue(async () => {
      const now = changed();
      if (!now) return;
      await this.gadget.setFixedStrings(now, this.fixed.reserve);
      this.fixed = { ...this.fixed, strings: now };
    }).catch(() => undefined);
  }

  private async complete(
    ep0: Ep0Port,
    setup: SetupPacket,
    toHost: boolean,
    result: ControlResult,
  ): Promise<Ep0Outcome> {
    switch (result.status) {
      case 'ok':
        if (toHost) return ep0.writeData((result.data ?? new Uint8Array(0)).subarray(0, setup.wLength));
        // An OUT data stage was acknowledged when it was read.
        return setup.wLength === 0 ? ep0.ack() : 'done';
      case 'stall':
        // FunctionFS acknowledges OUT data as it is read, so only requests without data can stall.
        return toHost || setup.wLength === 0 ? ep0.stall(toHost) : 'done';
      case 'nak':
        // Hold the transfer until the host has given up; answering then finds it cancelled.
        await new Promise((r) => setTimeout(r, NAK_HOLD_MS));
        return ep0.stall(toHost);
      case 'disconnected':
        return 'disconnected';
    }
  }
}

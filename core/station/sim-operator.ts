import type { Station, StationEvent } from './station';

/**
 * A simulated operator for `run --simulate N`, the demo and the benchmarks: keeps every slot's
 * port fed with the next device, takes a PASS off the fixture, re-seats a failed device (up to
 * `reseats` times) and sets aside what still fails or can never pass (wrong platform).
 *
 * It is written against a tiny bus interface so real code keeps no import of core/sim; the CLI
 * hands it a SimBus and a device factory.
 */
export interface PluggableBus<D> {
  plug(device: D, portPath: string): void;
  unplug(portPath: string): D | undefined;
}

export interface SimOperatorOptions<D> {
  readonly station: Station;
  readonly bus: PluggableBus<D>;
  readonly ports: readonly string[];
  readonly devices: number;
  readonly makeDevice: (index: number) => D;
  /** How many times a failed device is re-seated before it is set aside. */
  readonly reseats?: number;
  /** Codes that mean "never re-seat": the device is wrong, not the contact. */
  readonly setAsideCodes?: readonly string[];
}

export interface SimOperatorReport {
  readonly plugged: number;
  readonly reseated: number;
  readonly setAside: number;
}

const NEVER_RESEAT = [
  'WRONG_PLATFORM',
  'WRONG_PRODUCT',
  'NOT_PARTICLE',
  'DEVICE_ID_INVALID',
  'DEVICE_PROTECTED',
  // A serial number that cannot be read is the device's OTP, not its contact.
  'DEVICE_SERIAL_UNREADABLE',
];

export class SimOperator<D> {
  private next = 0;
  private reseated = 0;
  private setAside = 0;
  private readonly seats = new Map<string, { index: number; reseats: number }>();
  private off: (() => void) | undefined;
  private resolveDone: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(private readonly o: SimOperatorOptions<D>) {
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
  }

  /** Plugs the first devices and starts reacting to the station. */
  start(): void {
    this.off = this.o.station.on((e) => this.onEvent(e));
    for (const p of this.o.ports) this.feed(p);
    this.checkDone();
  }

  stop(): void {
    this.off?.();
  }

  report(): SimOperatorReport {
    return { plugged: this.next, reseated: this.reseated, setAside: this.setAside };
  }

  private feed(port: string): void {
    if (this.next >= this.o.devices) return;
    const index = this.next++;
    this.seats.set(port, { index, reseats: 0 });
    this.o.bus.plug(this.o.makeDevice(index), port);
  }

  private onEvent(e: StationEvent): void {
    if (e.type !== 'slot-idle') return;
    const seat = this.seats.get(e.portPath);
    if (!seat) return;
    const a = e.attempt;
    const failed = a?.result === 'fail' || a?.result === 'interrupted';
    const never = [...NEVER_RESEAT, ...(this.o.setAsideCodes ?? [])].includes(a?.errorCode ?? '');
    // Let the slot's event finish dispatching before the bus fires new events at the station.
    setImmediate(() => {
      if (failed && !never && seat.reseats < (this.o.reseats ?? 3)) {
        seat.reseats++;
        this.reseated++;
        const d = this.o.bus.unplug(e.portPath);
        if (d) this.o.bus.plug(d, e.portPath);
        return;
      }
      if (failed) this.setAside++;
      this.o.bus.unplug(e.portPath);
      this.seats.delete(e.portPath);
      this.feed(e.portPath);
      this.checkDone();
    });
  }

  private checkDone(): void {
    if (this.next >= this.o.devices && this.seats.size === 0) this.resolveDone?.();
  }
}

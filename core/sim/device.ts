import { createHash } from 'node:crypto';
import { type Platform, platformByName } from '../platforms';
import { now, scheduleAfter, sleepUntil } from './clock';
import { ControlService } from './control-service';
import {
  CDC_COMM_INTERFACE,
  dfuDescriptors,
  langIdDescriptor,
  normalDescriptors,
  type SimDescriptors,
  stringDescriptor,
} from './descriptors';
import { DfuFunction } from './dfu-function';
import { type ProgramCheck, SimFlash } from './flash';
import { mergeModules, readModuleAt } from './modules';
import { type ResetKind, reenumerateMs, type TimingProfile, timingFor, transferMs } from './timing';
import type {
  ControlResult,
  DeviceOsInfo,
  SetupPacket,
  SimDeviceEvent,
  SimDeviceOptions,
  SimFaults,
  SimMode,
  SimModule,
  SimStats,
} from './types';

/** A stable, realistic-looking device ID (24 lower-case hex) derived from any seed. */
export const makeDeviceId = (seed: string | number): string =>
  createHash('sha256').update(`linestation-sim:${seed}`).digest('hex').slice(0, 24);

const DEVICE_ID = /^[0-9a-f]{24}$/;

const DEFAULT_OS: DeviceOsInfo = { version: '6.2.1', systemModuleVersion: 6201, controlRequests: true };

/** Baud rates of the serial trick (Device OS USB CDC line-coding hooks). */
export const DFU_BAUD = 14400;
export const LISTENING_BAUD = 28800;

const versionAtLeast = (v: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = v.split('.').map((x) => Number.parseInt(x, 10));
  return a > major || (a === major && b >= minor);
};

const defaultModules = (platform: Platform, os: DeviceOsInfo): SimModule[] => {
  const bootloaderVersion = platform.generation <= 2 ? 1200 : 3000;
  return [
    { func: 2, index: 0, version: bootloaderVersion, size: 41_000, maxSize: 49_152 },
    {
      func: 4,
      index: 1,
      version: os.systemModuleVersion,
      size: 630_000,
      maxSize: 786_432,
      dependencies: [{ func: 2, index: 0, version: bootloaderVersion }],
    },
    {
      func: 5,
      // Gen 3 on Device OS ≥ 3.1 keeps the 256 KB user part as module index 2.
      index: platform.generation === 3 ? 2 : 1,
      version: 6,
      size: 12_000,
      maxSize: platform.flash.userPart.maxSize,
      dependencies: [{ func: 4, index: 1, version: os.systemModuleVersion }],
    },
  ];
};

const STALL: ControlResult = { status: 'stall' };
const DISCONNECTED: ControlResult = { status: 'disconnected' };

/**
 * A simulated Particle device: the transport-independent device core. It owns the descriptors, the
 * flash, the mode (normal / listening / DFU) and answers ep0 control requests through
 * `handleControl`. It knows nothing of buses or port paths: `SimBus` hosts it in-process, and a
 * FunctionFS server can drive the same object from a real kernel's ep0 events.
 */
export class SimDevice {
  readonly platform: Platform;
  readonly timeScale: number;
  readonly timing: TimingProfile;
  readonly deviceOs: DeviceOsInfo;
  readonly stats: SimStats = {
    inherentMs: 0,
    controlTransfers: 0,
    bytesIn: 0,
    bytesOut: 0,
    sectorsErased: 0,
    bytesProgrammed: 0,
    reenumerations: 0,
  };
  /** Flash per DFU alt setting; it survives mode changes (it is the device's memory). */
  readonly flash: ReadonlyMap<number, SimFlash>;
  modules: readonly SimModule[];

  private _deviceId: string;
  private _mode: SimMode;
  private _connected = false;
  private _descriptors: SimDescriptors;
  private configuration = 0;
  private readonly faults: SimFaults;
  private readonly slow: number;
  private readonly listeners = new Set<(e: SimDeviceEvent) => void>();
  private readonly dfu: DfuFunction;
  private readonly control: ControlService;
  /** Serialises ep0: a device answers one control transfer at a time. */
  private ep0: Promise<unknown> = Promise.resolve();
  /** Bumped on every disconnect so in-flight work can tell it belongs to a previous enumeration. */
  private session = 0;
  private requestCount = 0;
  private serviceCount = 0;
  private busyRepliesLeft: number;
  private resetPending = false;
  private cancelScheduled: (() => void)[] = [];
  private lineCoding = Uint8Array.of(0x80, 0x25, 0, 0, 0, 0, 8); // 9600 8N1
  private resetFaultsSpent = false;

  constructor(options: SimDeviceOptions) {
    const platform =
      typeof options.platform === 'string' ? platformByName(options.platform) : options.platform;
    if (!platform) throw new Error(`Unknown platform: ${String(options.platform)}`);
    this.platform = platform;
    const id = (options.deviceId ?? makeDeviceId(options.seed ?? 0)).toLowerCase();
    if (!DEVICE_ID.test(id)) throw new Error(`A device ID is 24 hex characters, got "${id}"`);
    this._deviceId = id;
    this.deviceOs = { ...DEFAULT_OS, ...options.deviceOs };
    this.faults = options.faults ?? {};
    this.slow = this.faults.slowFactor ?? 1;
    this.timeScale = options.timeScale ?? 1;
    this.timing = { ...timingFor(platform), ...options.timing };
    this.busyRepliesLeft = this.faults.busyReplies ?? 0;
    this.modules = options.modules ?? defaultModules(platform, this.deviceOs);
    this._mode = options.mode ?? 'normal';
    const flash = new Map<number, SimFlash>();
    for (const a of platform.dfu.altSettings) flash.set(a.alt, new SimFlash(a.layout));
    this.flash = flash;

    const self = this;
    this.dfu = new DfuFunction({
      platform,
      timing: this.timing,
      programCheck: this.programCheck,
      faults: this.faults,
      stats: this.stats,
      scale: (ms) => this.scale(ms),
      account: (ms) => {
        this.stats.inherentMs += ms * this.slow;
      },
      flashFor: (alt) => this.flash.get(alt),
      requestReset: (target, reason, kind, detachAfterMs) => this.reset(target, reason, kind, detachAfterMs),
      dropOff: (reason, afterMs) => {
        this.cancelScheduled.push(scheduleAfter(afterMs, () => this.dropOff(reason)));
      },
    });
    this.control = new ControlService({
      get deviceId() {
        return self._deviceId;
      },
      get listening() {
        return self._mode === 'listening';
      },
      get systemVersion() {
        return self.deviceOs.version;
      },
      get modules() {
        return self.modules;
      },
      get newModuleInfoFormat() {
        return versionAtLeast(self.deviceOs.version, 5, 6);
      },
      processingDelay: () => {
        this.stats.inherentMs += this.timing.controlRequestMs * this.slow;
        return this.scale(this.timing.controlRequestMs);
      },
      requestReset: (target) =>
        target === 'dfu'
          ? this.reset('dfu', 'DFU_MODE request', 'dfu-mode')
          : this.reset('normal', 'RESET request', 'reset'),
      setListening: (on) => {
        if (this._mode !== 'dfu') this._mode = on ? 'listening' : 'normal';
      },
      takeBusyReply: () => {
        if (this.busyRepliesLeft <= 0) return false;
        this.busyRepliesLeft--;
        return true;
      },
    });
    this._descriptors = this.buildDescriptors();
  }

  /**
   * Particle bootloaders read back what they programmed (Device OS MAL write, ST library verify),
   * so writing over data that was not erased fails with errVERIFY; see `SimFlash.program`.
   */
  private get programCheck(): ProgramCheck {
    return 'verify';
  }

  get deviceId(): string {
    return this._deviceId;
  }
  get mode(): SimMode {
    return this._mode;
  }
  get connected(): boolean {
    return this._connected;
  }
  get descriptors(): SimDescriptors {
    return this._descriptors;
  }
  /** DFU state and status (for tests and the demo UI). */
  get dfuState(): { state: number; status: number; alt: number; addressPointer: number } {
    return {
      state: this.dfu.currentState,
      status: this.dfu.currentStatus,
      alt: this.dfu.alternate,
      addressPointer: this.dfu.addressPointer,
    };
  }

  /** Model ms → wall-clock ms. */
  scale(ms: number): number {
    return ms * this.slow * this.timeScale;
  }

  on(listener: (e: SimDeviceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: SimDeviceEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private buildDescriptors(): SimDescriptors {
    return this._mode === 'dfu'
      ? dfuDescriptors(this.platform, this.faults.dfuSerialNumber ?? this._deviceId)
      : normalDescriptors(this.platform, this._deviceId);
  }

  /** Power on (cable in): the device enumerates in its current mode. */
  powerOn(): void {
    if (this._connected) return;
    this.dfu.reset();
    this.control.clear();
    this.configuration = 0;
    this._descriptors = this.buildDescriptors();
    this._connected = true;
    this.emit({ type: 'connect', mode: this._mode });
  }

  /** Power off (cable out): everything in flight fails; a pending re-enumeration is cancelled. */
  powerOff(reason = 'unplugged'): void {
    for (const c of this.cancelScheduled) c();
    this.cancelScheduled = [];
    this.resetPending = false;
    // A device that loses power boots its application next time: DFU and listening are not sticky.
    // Device OS enters DFU on a request by writing ENTER_DFU_APP_REQUEST to a backup register and
    // resetting; the bootloader clears that register as it enters DFU ("subsequent system reset or
    // power on-off should execute normal firmware"), so only a held MODE button or the persistent
    // System.dfu(true) flag (which no USB request sets) would bring it back in DFU mode.
    this._mode = 'normal';
    this.disconnect(reason);
  }

  private disconnect(reason: string): void {
    if (!this._connected) return;
    this._connected = false;
    this.session++;
    this.emit({ type: 'disconnect', reason });
  }

  /** Fault: drop off the bus now and come back (same mode) after the re-enumeration delay. */
  private dropOff(reason: string): void {
    if (!this._connected) return;
    this.disconnect(reason);
    this.comeBackLater(this._mode, 'fault');
  }

  /**
   * Reset into `target` mode the way the firmware does: the reply to the current request goes out,
   * the device detaches after a short delay, stays off the bus, then enumerates with the new PID.
   */
  reset(target: 'normal' | 'dfu', reason: string, kind: ResetKind = 'reset', detachAfterMs?: number): void {
    // Off the bus (already resetting, unplugged) there is nothing to reset: one re-enumeration at a time.
    if (this.resetPending || !this._connected) return;
    this.resetPending = true;
    // The detach delay is the device's own time (firmware finishing the reply, then dropping off):
    // count it as inherent, or the host is charged for it. A caller passing `detachAfterMs` (the
    // manifest delay) has already accounted that span as the device's poll timeout.
    if (detachAfterMs === undefined) this.stats.inherentMs += this.timing.detachDelayMs * this.slow;
    this.cancelScheduled.push(
      scheduleAfter(this.scale(detachAfterMs ?? this.timing.detachDelayMs), () => {
        this.resetPending = false;
        this.disconnect(reason);
        this._mode = target;
        this.comeBackLater(target, kind);
      }),
    );
  }

  private comeBackLater(target: SimMode, kind: ResetKind): void {
    const f = this.faults;
    const firstReset = !this.resetFaultsSpent;
    this.resetFaultsSpent = true;
    if (f.neverComesBack) return;
    const offBus = reenumerateMs(this.timing, kind);
    this.stats.inherentMs += offBus * this.slow;
    this.cancelScheduled.push(
      scheduleAfter(this.scale(offBus), () => {
        if (this._connected) return;
        if (firstReset && f.comesBackWithId) this._deviceId = f.comesBackWithId.toLowerCase();
        if (target !== 'dfu') this.scanModules();
        this._mode = target;
        this.dfu.reset();
        this.control.clear();
        this.configuration = 0;
        this._descriptors = this.buildDescriptors();
        this._connected = true;
        this.stats.reenumerations++;
        const movedTo = firstReset ? f.comesBackOnPort : undefined;
        this.emit(movedTo ? { type: 'connect', mode: target, movedTo } : { type: 'connect', mode: target });
      }),
    );
  }

  /** Device OS boots and validates what was written: MODULE_INFO then reports it. */
  private scanModules(): void {
    const flash = this.flash.get(0);
    if (!flash) return;
    const found = this.dfu
      .takeWriteStarts()
      .map((a) => readModuleAt(flash, a, this.platform.id))
      .filter((m) => m !== undefined);
    if (found.length > 0) this.modules = mergeModules(this.modules, found);
  }

  /**
   * The serial side's hook: a host set the CDC line coding (e.g. by opening the port at this baud).
   * Device OS enters DFU mode on 14400 and listening mode on 28800, on any firmware with a USB
   * CDC port (this works on old Device OS that ignores control requests).
   */
  setLineCoding(baud: number): void {
    if (!this._connected || this._mode === 'dfu') return;
    const v = new DataView(this.lineCoding.buffer);
    v.setUint32(0, baud, true);
    if (baud === DFU_BAUD) this.reset('dfu', '14400-baud serial trick', 'serial');
    else if (baud === LISTENING_BAUD) this._mode = 'listening';
  }

  /**
   * Answers one control transfer. `dataOut` is the OUT data stage (wLength bytes); for IN the
   * answer carries at most wLength bytes. Transfers are handled one at a time, as on ep0, and take
   * their modelled time on the wire.
   */
  handleControl(setup: SetupPacket, dataOut?: Uint8Array, signal?: AbortSignal): Promise<ControlResult> {
    const run = this.ep0.then(() => this.handleNow(setup, dataOut, signal));
    this.ep0 = run.catch(() => undefined);
    return run;
  }

  private async handleNow(
    setup: SetupPacket,
    dataOut: Uint8Array | undefined,
    signal?: AbortSignal,
  ): Promise<ControlResult> {
    if (!this._connected) return DISCONNECTED;
    const session = this.session;
    const isIn = (setup.bmRequestType & 0x80) !== 0;
    const bytes = isIn ? setup.wLength : (dataOut?.length ?? 0);
    const wire = transferMs(this.timing, bytes);
    this.stats.inherentMs += wire * this.slow;
    this.stats.controlTransfers++;
    try {
      await sleepUntil(now() + this.scale(wire), signal);
      if (session !== this.session) return DISCONNECTED;
      this.requestCount++;
      if (this.faults.stallOnRequest === this.requestCount) return STALL;
      let result = await this.dispatch(setup, dataOut, signal);
      if (session !== this.session) return DISCONNECTED;
      // A device can never send more than the host asked for (USB 2.0 §9.3.5).
      if (result.status === 'ok' && result.data && result.data.length > setup.wLength) {
        result = { status: 'ok', data: result.data.slice(0, setup.wLength) };
      }
      if (result.status === 'ok') {
        if (isIn) this.stats.bytesIn += result.data?.length ?? 0;
        else this.stats.bytesOut += dataOut?.length ?? 0;
      }
      return result;
    } catch (e) {
      // Aborted by the host: from the device's side the transfer simply never completed. Anything
      // else is a simulator bug and must surface, not pass for a timeout.
      if (!signal?.aborted) throw e;
      return session !== this.session ? DISCONNECTED : { status: 'nak' };
    }
  }

  private dispatch(
    setup: SetupPacket,
    dataOut: Uint8Array | undefined,
    signal?: AbortSignal,
  ): Promise<ControlResult> | ControlResult {
    const type = (setup.bmRequestType >> 5) & 3;
    const recipient = setup.bmRequestType & 0x1f;
    if (type === 0) return this.standard(setup, recipient);
    if (this._mode === 'dfu') {
      if (type === 1 && recipient === 1 && setup.wIndex === 0) return this.dfu.handle(setup, dataOut, signal);
      return STALL;
    }
    if (type === 1 && recipient === 1 && setup.wIndex === CDC_COMM_INTERFACE) return this.cdc(setup, dataOut);
    if (type === 2 && recipient === 0) return this.vendor(setup, dataOut);
    return STALL;
  }

  private vendor(setup: SetupPacket, dataOut: Uint8Array | undefined): ControlResult {
    if (!this.deviceOs.controlRequests) return STALL;
    const isIn = (setup.bmRequestType & 0x80) !== 0;
    // RTL872x application firmware never completes an OUT control request without a data stage
    // (particle-usb: quirk controlOutTransfersRequireDataStage, set on these platforms' normal-mode IDs).
    if (!isIn && setup.wLength === 0 && this.platform.dfu.zeroLengthOutNeedsByte) return { status: 'nak' };
    this.serviceCount++;
    if (this.faults.dropOffOnServiceRequest === this.serviceCount) {
      this.dropOff('fault: dropped off during a control request');
      return DISCONNECTED;
    }
    return this.control.handle(setup, dataOut, now());
  }

  /** CDC ACM class requests (CDC PSTN 1.2 §6.3): line coding drives the serial tricks. */
  private cdc(setup: SetupPacket, dataOut: Uint8Array | undefined): ControlResult {
    switch (setup.bRequest) {
      case 0x20: {
        if (!dataOut || dataOut.length < 7) return STALL;
        this.lineCoding = dataOut.slice(0, 7);
        const baud = new DataView(this.lineCoding.buffer).getUint32(0, true);
        this.setLineCoding(baud);
        return { status: 'ok' };
      }
      case 0x21:
        return { status: 'ok', data: this.lineCoding.slice(0, setup.wLength) };
      case 0x22:
        return { status: 'ok' };
      default:
        return STALL;
    }
  }

  /** Chapter 9 requests, answered from the current descriptors (USB 2.0 §9.4). */
  private standard(setup: SetupPacket, recipient: number): ControlResult {
    const isIn = (setup.bmRequestType & 0x80) !== 0;
    const d = this._descriptors;
    const cut = (bytes: Uint8Array): ControlResult => ({ status: 'ok', data: bytes.slice(0, setup.wLength) });
    switch (setup.bRequest) {
      case 0x06: {
        if (!isIn) return STALL;
        const kind = setup.wValue >> 8;
        const index = setup.wValue & 0xff;
        if (recipient === 1 && kind === 0x21 && this._mode === 'dfu') {
          return cut(d.configuration.slice(d.configuration.length - 9));
        }
        if (recipient !== 0) return STALL;
        if (kind === 0x01) return cut(d.device);
        if (kind === 0x02) return index === 0 ? cut(d.configuration) : STALL;
        if (kind === 0x03) {
          if (index === 0) return cut(langIdDescriptor());
          const s = d.strings.get(index);
          return s === undefined ? STALL : cut(stringDescriptor(s));
        }
        // A full-speed-only device STALLs DEVICE_QUALIFIER (USB 2.0 §9.6.2), and anything else unknown.
        return STALL;
      }
      case 0x00:
        return isIn ? cut(Uint8Array.of(0, 0)) : STALL;
      case 0x08:
        return isIn ? cut(Uint8Array.of(this.configuration)) : STALL;
      case 0x09:
        if (isIn || setup.wValue > 1) return STALL;
        this.configuration = setup.wValue;
        return { status: 'ok' };
      case 0x0a: {
        if (!isIn || recipient !== 1) return STALL;
        if (!d.interfaces.has(setup.wIndex)) return STALL;
        return cut(Uint8Array.of(this._mode === 'dfu' ? this.dfu.alternate : 0));
      }
      case 0x0b: {
        if (isIn || recipient !== 1) return STALL;
        const alts = d.interfaces.get(setup.wIndex);
        if (!alts?.includes(setup.wValue)) return STALL;
        if (this._mode === 'dfu' && !this.dfu.selectAlternate(setup.wValue)) return STALL;
        return { status: 'ok' };
      }
      default:
        return STALL;
    }
  }

  /** Cancels timers (test teardown). */
  dispose(): void {
    for (const c of this.cancelScheduled) c();
    this.cancelScheduled = [];
    this.listeners.clear();
  }
}

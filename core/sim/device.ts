import { createHash, type KeyObject } from 'node:crypto';
import { type Platform, platformByName } from '../platforms';
import { now, scheduleAfter, sleepUntil } from './clock';
import { ControlService, CTRL_REQUEST, type RequestOutcome, SYSTEM_ERROR } from './control-service';
import {
  CDC_COMM_INTERFACE,
  dfuDescriptors,
  langIdDescriptor,
  normalDescriptors,
  type SimDescriptors,
  stringDescriptor,
} from './descriptors';
import { type DeviceOsFeatures, deviceOsFeatures } from './device-os';
import { DFUSE_COMMAND } from './dfu-constants';
import { DfuFunction } from './dfu-function';
import { FirmwareUpdate, stageOf, type UpdateContext, type ValidatedModule } from './firmware-update';
import { type ProgramCheck, SimFlash } from './flash';
import { iccidOutcome, type ResolvedIdentity, resolveIdentity, serialNumberOutcome } from './identity';
import { type UpdateLayout, updateLayoutFor } from './module-bounds';
import {
  assetOf,
  MODULE_FLAG,
  MODULE_FUNCTION,
  mergeModules,
  readModuleAt,
  type SimAsset,
  toSimModule,
} from './modules';
import { type KeyPair, SecurityState, simCloudKeys, simDeviceKeys } from './protection';
import {
  decodeSetDeviceSetupDone,
  encodeAssetInfoReply,
  encodeGetProtectedStateReply,
  encodeIsDeviceSetupDoneReply,
} from './protobuf';
import type { ListeningDeviceProfile } from './serial-listening';
import {
  eraseMs,
  ncpUpdateMs,
  programMs,
  type ResetKind,
  reenumerateMs,
  type TimingProfile,
  timingFor,
  transferMs,
} from './timing';
import type {
  ControlResult,
  DeviceOsInfo,
  ProtectionState,
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

const defaultModules = (platform: Platform, os: DeviceOsInfo): SimModule[] => {
  const bootloaderVersion = platform.generation <= 2 ? 1200 : 3000;
  // RTL872x devices also report the prebootloader's two parts (bootloader functions, indices 1
  // and 2; Device OS 6.2 modules/shared/system_module_version.mk: MBR 2, part 1 9): the bootloader
  // depends on part 1.
  const prebootloader: SimModule[] =
    platform.mcu === 'RTL872x'
      ? [
          { func: 2, index: 1, version: 2, size: 8_000, maxSize: 0x2000 },
          { func: 2, index: 2, version: 9, size: 250_000, maxSize: 0x4a000 },
        ]
      : [];
  return [
    { func: 2, index: 0, version: bootloaderVersion, size: 41_000, maxSize: 49_152 },
    ...prebootloader,
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
  /** What this Device OS release does (thresholds in device-os.ts). */
  readonly features: DeviceOsFeatures;
  /**
   * Assets stored by normal-mode updates (Device OS ≥ 5.5): the name and content SHA-256 of the
   * NAME and HASH records, as GET_ASSET_INFO (91) reports them. A new asset replaces one of its name.
   */
  readonly assets: SimAsset[] = [];

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
  private readonly layout: UpdateLayout;
  private readonly update: FirmwareUpdate;
  private readonly security: SecurityState;
  private readonly deviceKeys: KeyPair;
  private readonly serverPublicKey: KeyObject;
  private readonly updatesEnabled: boolean;
  /** Gen 3 / Device OS < 4: the DCT byte (persistent: survives resets and power loss). */
  private setupDoneFlag: boolean;
  private refusalsLeft: number;
  /** Modules accepted by FINISH that the bootloader writes on the next boot (an OTA flag in the DCT). */
  private pendingBoot: { readonly modules: readonly ValidatedModule[]; readonly ms: number } | undefined;
  private poweredBefore = false;
  private resets = 0;
  /** The device's own clock (Service Mode's 24 h, PREPARE's 60 s) in model ms: see `modelNow`. */
  private readonly clockEpoch = now();
  private clockAdvanceMs = 0;
  /** Serial number, IMEI, ICCID (made with the device; derived from the ID unless given). */
  private readonly madeWith: ResolvedIdentity;
  /** The cellular modem is powered (after the first CELLULAR_GET_ICCID; off again after a reset). */
  private modemOn = false;

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
    this.features = deviceOsFeatures(this.deviceOs.version, platform);
    this.layout = updateLayoutFor(platform);
    this.update = new FirmwareUpdate(this.timing);
    this.updatesEnabled = options.updatesEnabled ?? true;
    this.setupDoneFlag = options.setupDone ?? true;
    this.refusalsLeft = this.faults.refuseUpdate?.times ?? 1;
    this.deviceKeys = simDeviceKeys(id);
    this.madeWith = resolveIdentity(id, platform, options.identity);
    this.serverPublicKey = options.serverPublicKey ?? simCloudKeys().publicKey;
    const self = this;
    this.security = new SecurityState({
      get deviceId() {
        return self._deviceId;
      },
      get bootloaderProtected() {
        return self.bootloaderProtected;
      },
      modelNow: () => this.modelNow(),
      deviceKeys: this.deviceKeys,
      serverPublicKey: this.serverPublicKey,
    });
    const protection = options.protection ?? 'open';
    if (protection !== 'open') {
      if (!this.features.protection || (protection === 'service' && !this.features.serviceMode))
        throw new Error(`Device OS ${this.deviceOs.version} has no ${protection} state`);
      this.setBootloaderProtected();
      if (protection === 'service') this.security.enterServiceMode();
    }
    // A Gen 3 device on Device OS < 4 without the setup-done flag boots into listening mode.
    this._mode =
      options.mode ?? (this.features.setupDoneFlag && !this.setupDoneFlag ? 'listening' : 'normal');
    const flash = new Map<number, SimFlash>();
    for (const a of platform.dfu.altSettings) flash.set(a.alt, new SimFlash(a.layout));
    this.flash = flash;

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
      protectedNow: () => this.security.protectedNow,
      clearSecurityOverride: () => {
        this.security.clearOverride();
        this._descriptors = this.buildDescriptors();
      },
      particleCommands:
        platform.generation >= 3 && this.features.serviceMode
          ? [
              DFUSE_COMMAND.ENTER_SAFE_MODE,
              ...(this.features.dfuDeviceState ? [DFUSE_COMMAND.CLEAR_SECURITY_MODE_OVERRIDE] : []),
            ]
          : [],
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
        return self.features.newModuleInfo;
      },
      get protectedNow() {
        return self.security.protectedNow;
      },
      processingDelay: (extraMs = 0) => {
        const ms = this.timing.controlRequestMs + extraMs;
        this.stats.inherentMs += ms * this.slow;
        return this.scale(ms);
      },
      handleRequest: (type, payload) => this.handleRequest(type, payload),
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
    if (this._mode !== 'dfu') return normalDescriptors(this.platform, this._deviceId);
    const state = this.security.state;
    return dfuDescriptors(this.platform, this.faults.dfuSerialNumber ?? this._deviceId, {
      protectedLayout: this.security.protectedNow,
      ...(this.features.dfuDeviceState
        ? { deviceState: state === 'open' ? 'o' : state === 'protected' ? 'p' : 's' }
        : {}),
    });
  }

  /** Device Protection as the host sees it (`open` on Device OS before 6.0). */
  get protection(): ProtectionState {
    return this.security.state;
  }

  /** The setup-done flag as IS_DEVICE_SETUP_DONE reports it where it exists (Gen 3, Device OS < 4). */
  get setupDone(): boolean {
    return this.features.setupDoneFlag ? this.setupDoneFlag : true;
  }

  /** What the device was made with: serial number, and IMEI/ICCID on cellular platforms. */
  get identity(): ResolvedIdentity {
    return this.madeWith;
  }

  /**
   * What the listening-mode `i`, `v` and `s` answers hold for this device (Device OS's own `i`
   * listing: serial number, device secret and, on cellular devices, IMEI/ICCID/radio firmware,
   * blank where the faults make them unreadable).
   */
  listeningProfile(): ListeningDeviceProfile {
    const id = this.madeWith;
    const cell = id.cellular;
    const iccidOk = this.faults.iccidUnreadable === undefined;
    return {
      deviceId: this._deviceId,
      platformId: this.platform.id,
      systemVersion: this.deviceOs.version,
      systemModuleVersion: this.deviceOs.systemModuleVersion,
      idFormat: 'device-os',
      deviceSecret: id.deviceSecret,
      ...(id.serialNumber !== undefined && !this.faults.serialUnreadable
        ? { serialNumber: id.serialNumber }
        : {}),
      ...(cell
        ? {
            cellular: true,
            ...(iccidOk ? { imei: cell.imei, iccid: cell.iccid, radioFirmware: cell.radioFirmware } : {}),
          }
        : {}),
    };
  }

  /** A normal-mode firmware update is open (START accepted, FINISH not yet). */
  get updateInProgress(): boolean {
    return this.update.active;
  }

  /**
   * The device's own clock, in model milliseconds: wall time since construction divided by
   * `timeScale`, plus whatever `advanceClock` added. With `timeScale: 0` it only moves by
   * `advanceClock` (time does not pass for a device that never waits).
   */
  modelNow(): number {
    const wall = this.timeScale > 0 ? (now() - this.clockEpoch) / this.timeScale : 0;
    return wall + this.clockAdvanceMs;
  }

  /** Test hook: let `ms` of model time pass on the device's clock (Service Mode's 24 h, PREPARE's 60 s). */
  advanceClock(ms: number): void {
    this.clockAdvanceMs += ms;
  }

  private get bootloaderProtected(): boolean {
    return (
      this.features.protection &&
      this.modules.some((m) => m.func === 2 && m.index === 0 && m.protected === true)
    );
  }

  /** As if a bootloader with the PROTECTED security extension had been installed. */
  private setBootloaderProtected(): void {
    this.modules = this.modules.map((m) => (m.func === 2 && m.index === 0 ? { ...m, protected: true } : m));
  }

  /** Power on (cable in): the device enumerates in its current mode. */
  powerOn(): void {
    if (this._connected) return;
    // A power-on after a power loss is a boot like any reset (the first one is the device's start).
    if (this.poweredBefore) this._mode = this.boot(this._mode);
    this.poweredBefore = true;
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
    // The bootloader copies a pending update into place before anything enumerates.
    const offBus = reenumerateMs(this.timing, kind) + (kind === 'fault' ? 0 : (this.pendingBoot?.ms ?? 0));
    this.stats.inherentMs += offBus * this.slow;
    this.cancelScheduled.push(
      scheduleAfter(this.scale(offBus), () => {
        if (this._connected) return;
        if (firstReset && f.comesBackWithId) this._deviceId = f.comesBackWithId.toLowerCase();
        // A USB drop-off (fault) is no reset: the firmware keeps running.
        const mode = kind === 'fault' ? target : this.boot(target);
        if (mode !== 'dfu') this.scanModules();
        this._mode = mode;
        this.dfu.reset();
        this.control.clear();
        this.configuration = 0;
        this._descriptors = this.buildDescriptors();
        this._connected = true;
        this.stats.reenumerations++;
        const movedTo = firstReset ? f.comesBackOnPort : undefined;
        this.emit(movedTo ? { type: 'connect', mode, movedTo } : { type: 'connect', mode });
      }),
    );
  }

  /**
   * One boot (a reset or a power-on after power loss), in the order firmware does it: the
   * bootloader applies a pending update and counts the boot against Service Mode; RAM state (an
   * open update transfer) is gone; Device OS on a Gen 3 device without the setup-done flag comes
   * up in listening mode. Returns the mode the device enumerates in.
   */
  private boot(target: SimMode): SimMode {
    this.resets++;
    const pending = this.pendingBoot;
    this.pendingBoot = undefined;
    if (pending) for (const m of pending.modules) this.install(m);
    const k = this.faults.protectAfterResets;
    if (k !== undefined && this.resets >= k && this.features.protection) this.setBootloaderProtected();
    this.security.onBoot();
    this.update.cancel();
    this.modemOn = false;
    if (this.faults.setupDoneLost) this.setupDoneFlag = false;
    if (target === 'normal' && this.features.setupDoneFlag && !this.setupDoneFlag) return 'listening';
    return target;
  }

  /** Puts a validated module in place: into the internal flash, or the NCP / asset store. */
  private install(v: ValidatedModule): void {
    const m = v.image;
    if (m.func === MODULE_FUNCTION.ASSET) {
      const asset = assetOf(v.bytes, m);
      const same = this.assets.findIndex((a) => a.name === asset.name);
      if (same >= 0) this.assets.splice(same, 1, asset);
      else this.assets.push(asset);
      return;
    }
    if (m.func !== MODULE_FUNCTION.NCP) {
      const flash = this.flash.get(0);
      // DROP_MODULE_INFO (a SoftDevice): the copy skips the 24-byte prefix and the rest lands at the
      // start address (flash_mal.c FLASH_CopyMemory: source += sizeof(module_info_t)).
      const skip = (m.flags & MODULE_FLAG.DROP_MODULE_INFO) !== 0 && m.infoOffset === 0 ? 24 : 0;
      // The bootloader writes wherever the module says, read-only-to-DFU regions included.
      const bytes = v.bytes.subarray(skip);
      const at = m.start;
      if (flash?.segmentAt(at) && flash.segmentAt(at + bytes.length - 1)) flash.preload(at, bytes);
    }
    const b = this.layout.bounds.find((x) => x.func === m.func && x.index === m.index);
    const maxSize = b ? (b.maxSize ?? b.end - b.start) : undefined;
    const mod = toSimModule(m);
    this.modules = mergeModules(this.modules, [maxSize === undefined ? mod : { ...mod, maxSize }]);
  }

  /** Modelled time for the bootloader to copy a module into the internal flash (erase, program). */
  private installMs(v: ValidatedModule): number {
    const flash = this.flash.get(0);
    const { start, length } = v.image;
    if (!flash) return 0;
    let ms = programMs(this.timing, length);
    for (let a = start; a < start + length; ) {
      const seg = flash.segmentAt(a);
      if (!seg) break;
      ms += eraseMs(this.timing, seg.sectorSize);
      a = (flash.sectorStart(a) ?? a) + seg.sectorSize;
    }
    return ms;
  }

  /**
   * After a successful FINISH reached the host: NCP images and assets are applied now (the system
   * thread is busy meanwhile, so requests stay pending), the rest waits for the bootloader; then
   * the device resets, applied or not (system_update.cpp: "reset the device regardless").
   */
  private applyUpdate(modules: readonly ValidatedModule[]): void {
    const before = modules.filter(
      (v) => v.image.func === MODULE_FUNCTION.NCP || v.image.func === MODULE_FUNCTION.ASSET,
    );
    const onBoot = modules.filter((v) => !before.includes(v));
    const notApplied = this.faults.updateNotApplied === true;
    const beforeMs = before.reduce(
      (sum, v) =>
        sum +
        (v.image.func === MODULE_FUNCTION.NCP
          ? ncpUpdateMs(this.timing, v.bytes.length)
          : (v.bytes.length / 1024) * this.timing.assetStoreMsPerKb),
      0,
    );
    this.pendingBoot =
      notApplied || onBoot.length === 0
        ? undefined
        : { modules: onBoot, ms: onBoot.reduce((sum, v) => sum + this.installMs(v), 0) };
    if (beforeMs === 0) {
      this.reset('normal', 'firmware update', 'update');
      return;
    }
    this.control.holdUntilReset();
    const session = this.session;
    const ncp = before.some((v) => v.image.func === MODULE_FUNCTION.NCP);
    if (this.faults.resetDuringNcpUpdate && ncp) {
      // Half-way through, the device resets: the NCP keeps its old image and nothing else is applied.
      this.stats.inherentMs += (beforeMs / 2) * this.slow;
      this.pendingBoot = undefined;
      this.cancelScheduled.push(
        scheduleAfter(this.scale(beforeMs / 2), () => {
          if (session === this.session) this.reset('normal', 'fault: reset during the NCP update', 'update');
        }),
      );
      return;
    }
    this.stats.inherentMs += beforeMs * this.slow;
    this.cancelScheduled.push(
      scheduleAfter(this.scale(beforeMs), () => {
        if (session !== this.session) return;
        if (!notApplied) for (const v of before) this.install(v);
        this.reset('normal', 'firmware update', 'update');
      }),
    );
  }

  private updateContext(): UpdateContext {
    return {
      platform: this.platform,
      layout: this.layout,
      features: this.features,
      modules: this.modules,
      protectedOrService: this.security.state !== 'open',
      updatesEnabled: this.updatesEnabled,
      refusal: (stage) => {
        const r = this.faults.refuseUpdate;
        if (!r || this.refusalsLeft <= 0 || stageOf(r.result) !== stage) return undefined;
        this.refusalsLeft--;
        return r.result;
      },
    };
  }

  /** The control requests the device model answers beyond the basic ones (see ControlService). */
  private handleRequest(type: number, payload: Uint8Array): RequestOutcome | undefined {
    const f = this.features;
    switch (type) {
      case CTRL_REQUEST.START_FIRMWARE_UPDATE:
        return this.update.start(payload, this.updateContext());
      case CTRL_REQUEST.FIRMWARE_UPDATE_DATA:
        return this.update.data(payload, this.updateContext());
      case CTRL_REQUEST.FINISH_FIRMWARE_UPDATE: {
        const r = this.update.finish(payload, this.updateContext());
        const apply = r.apply;
        return apply ? { ...r, after: () => this.applyUpdate(apply) } : r;
      }
      case CTRL_REQUEST.CANCEL_FIRMWARE_UPDATE:
        this.update.cancel();
        return { result: 0 };
      case CTRL_REQUEST.SET_DEVICE_SETUP_DONE: {
        if (!f.setupDoneNoOp && !f.setupDoneFlag) return { result: SYSTEM_ERROR.NOT_SUPPORTED };
        const req = decodeSetDeviceSetupDone(payload);
        if (!req) return { result: SYSTEM_ERROR.BAD_DATA };
        // 4.0+: deprecated; "done" is accepted and changes nothing, "not done" is refused.
        if (f.setupDoneNoOp) return { result: req.done ? 0 : SYSTEM_ERROR.NOT_SUPPORTED };
        this.setupDoneFlag = req.done;
        return { result: 0 };
      }
      case CTRL_REQUEST.IS_DEVICE_SETUP_DONE:
        if (!f.setupDoneNoOp && !f.setupDoneFlag) return { result: SYSTEM_ERROR.NOT_SUPPORTED };
        return { result: 0, reply: encodeIsDeviceSetupDoneReply(this.setupDone) };
      case CTRL_REQUEST.GET_PROTECTED_STATE:
        if (!f.protection) return undefined;
        return {
          result: 0,
          reply: encodeGetProtectedStateReply(
            this.security.protectedNow,
            f.serviceMode && this.security.overridden,
          ),
        };
      case CTRL_REQUEST.SET_PROTECTED_STATE:
        if (!f.serviceMode) return undefined;
        return this.security.handleSetProtectedState(payload);
      case CTRL_REQUEST.GET_ASSET_INFO:
        // Device OS 5.5+ lists the assets it stores as `available` (and the ones the application
        // needs as `required`: the simulated application declares none).
        if (!f.assets) return undefined;
        return { result: 0, reply: encodeAssetInfoReply(this.assets) };
      case CTRL_REQUEST.GET_SERIAL_NUMBER:
        return serialNumberOutcome(this.madeWith, this.platform, this.faults.serialUnreadable ?? false);
      case CTRL_REQUEST.CELLULAR_GET_ICCID: {
        const { modemOn, ...outcome } = iccidOutcome(
          this.madeWith,
          this.platform,
          this.faults.iccidUnreadable,
          { on: this.modemOn, onMs: this.timing.modemOnMs },
        );
        this.modemOn = modemOn;
        return outcome;
      }
      default:
        return undefined;
    }
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
          // The bootloader computes its layout and state strings on each request.
          if (this._mode === 'dfu') this._descriptors = this.buildDescriptors();
          const fresh = this._descriptors;
          const s = fresh.strings.get(index);
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

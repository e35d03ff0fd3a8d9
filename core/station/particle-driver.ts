import type { RegisteredIdentity, RegisterOutcome } from '../cloud/register-step';
import { type LsError, LsFailure } from '../errors/result';
import type { InspectedFile, PlanTarget } from '../firmware/types';
import { type DeviceState, readDeviceState } from '../install/device-state';
import { type InstallOptions, installSet } from '../install/install-set';
import { planForDevice } from '../install/plan-for-device';
import { type IdentityField, readIdentity } from '../particle/identity';
import type { SerialLinkOpener } from '../particle/listening-serial';
import type { Platform } from '../platforms';
import { platformById } from '../platforms/lookup';
import type { IdentityGap } from '../store/records';
import { identifyDevice, recognise } from '../usb/identity';
import { findSerialPath, type SerialPortLister } from '../usb/serial-ports';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import type { DeviceIdentity, IdentityRead, SlotDriver, StepContext } from './pipeline';

/**
 * Registers a device for the product: core/cloud's createRegistrar (the cloud-setup registrar:
 * SIM import, name and notes from what identify read, groups, the date group, the firmware lock),
 * through the durable outbox. `identity` is what identify read, for the templates and the SIM.
 */
export interface Registrar {
  register(deviceId: string, signal: AbortSignal, identity: RegisteredIdentity): Promise<RegisterOutcome>;
}

export interface ParticleDriverOptions {
  readonly transport: UsbTransport;
  /** The locked set's files (inspected), planned per device at identify (what it runs, its mode). */
  readonly files: readonly InspectedFile[];
  /** The product the set is for (platform, product ID, mode, Device OS, protection). */
  readonly product: PlanTarget;
  readonly verify: boolean;
  /** Skip a module the device already runs at the same version and hash (still verified). */
  readonly skipWhenCurrent: boolean;
  /** Gen 3 on Device OS < 4.0: mark the device set up after the install (always, on a line). */
  readonly setupDone: boolean;
  /** The cloud side of Service Mode, for products that declare Device Protection. */
  readonly serviceMode?: InstallOptions['serviceMode'];
  readonly registrar: Registrar;
  /** What identify must read (the profile's `identity`): without it the device fails. */
  readonly identity?: { readonly requireSerial?: boolean; readonly requireIccid?: boolean } | undefined;
  /**
   * The listening-mode `i` fallback for what control requests cannot give (the Electron's ICCID,
   * a Gen 2 Device OS without the requests): lists serial ports to find the device's, and opens it
   * (default: the serialport package). Without a lister there is no fallback.
   */
  readonly serialPorts?: SerialPortLister | undefined;
  readonly openSerial?: SerialLinkOpener | undefined;
  /** Re-enumeration poll interval (tests with a fast simulator use a small one). */
  readonly pollMs?: number | undefined;
  /** How long a device may take to re-enumerate (DFU entry, back after leave). Default 30 s. */
  readonly reenumerationTimeoutMs?: number | undefined;
}

const failWith = (e: LsError): never => {
  throw new LsFailure(e);
};

const GAP_FIELD: Partial<Record<IdentityField, string>> = {
  serialNumber: 'serial_number',
  iccid: 'iccid',
  imei: 'imei',
  systemVersion: 'device_os',
};

/**
 * Reads serial number, ICCID/IMEI and Device OS version (core/particle readIdentity). MODULE_INFO
 * was already read with the protection state (readDeviceState), so it is not asked again. A
 * field the profile requires and the device cannot give fails the attempt; any other is left
 * empty with its reason, for the log.
 */
const readIdentityWith =
  (o: ParticleDriverOptions) =>
  async (
    device: UsbDeviceInfo,
    platform: Platform,
    state: DeviceState,
    signal: AbortSignal,
  ): Promise<IdentityRead> => {
    // Gen 2 is where the listening-mode listing helps: the Electron reports its ICCID only there,
    // and old Gen 2 Device OS lacks the requests. Listing serial ports costs little but not nothing.
    let serialPath: string | undefined;
    if (o.serialPorts && platform.generation === 2) {
      const ports = await o.serialPorts();
      serialPath = findSerialPath(ports, device);
    }
    const r = await readIdentity(o.transport, device, platform, {
      requireSerial: o.identity?.requireSerial === true,
      requireIccid: o.identity?.requireIccid === true,
      readModules: false,
      ...(serialPath ? { listening: { serialPath, ...(o.openSerial ? { open: o.openSerial } : {}) } } : {}),
      signal,
    });
    if (!r.ok) return failWith(r.error);
    const info = r.value;
    const deviceOs =
      info.systemVersion ?? (state.systemVersion !== undefined ? String(state.systemVersion) : undefined);
    const missing: IdentityGap[] = info.missing.flatMap((m) => {
      const field = GAP_FIELD[m.field];
      // A module version from MODULE_INFO stands in for a version string the device did not give.
      if (!field || (m.field === 'systemVersion' && deviceOs !== undefined)) return [];
      return [{ field, cause: m.cause, code: m.code, reason: m.reason }];
    });
    return {
      ...(info.serialNumber ? { serialNumber: info.serialNumber } : {}),
      ...(info.iccid ? { iccid: info.iccid } : {}),
      ...(info.imei ? { imei: info.imei } : {}),
      ...(deviceOs ? { deviceOs } : {}),
      ...(missing.length > 0 ? { identityMissing: missing } : {}),
    };
  };

/**
 * The real slot driver: core/usb identity and what the device runs, then the set installed by
 * core/install (the same operation `linestation flash` runs), then the registration outbox. One
 * driver per attempt; it follows the device through its re-enumerations on the same port path.
 */
export const particleDriver =
  (o: ParticleDriverOptions) =>
  (device: UsbDeviceInfo): SlotDriver => {
    let current = device;
    let state: DeviceState = { notes: [] };
    const identityOf = readIdentityWith(o);
    return {
      async identify(step: StepContext): Promise<DeviceIdentity> {
        const r = recognise(current);
        if (r.kind !== 'particle')
          return failWith({
            code: 'NOT_PARTICLE',
            message: `The device on ${current.portPath} is not a Particle device.`,
          });
        const id = await identifyDevice(o.transport, current, r.platform, r.dfu, { signal: step.signal });
        if (!id.deviceId)
          return failWith({
            code: 'DEVICE_ID_INVALID',
            message: `The device on ${current.portPath} did not report a valid device ID.`,
          });
        const ours = r.platform.id === o.product.platformId;
        if (o.product.mode === 'flash-on-line' && ours) {
          state = await readDeviceState(o.transport, current, r.dfu, step.signal);
          // Before anything is written: a protected device on a product that does not declare
          // Device Protection would refuse every write, and flashing it open would be wrong anyway.
          if ((state.protection === 'protected' || state.protection === 'service') && !o.serviceMode)
            return failWith({
              code: 'DEVICE_PROTECTED',
              message: `Device ${id.deviceId} has Device Protection on, and this product's profile does not declare it.`,
              remedy:
                'Set the device aside and call an engineer: the profile must declare deviceProtection for protected devices.',
            });
        }
        // Nothing of the identity can be read in DFU mode: an install brings the device back to
        // normal mode, and it is read then. A device of the wrong platform fails anyway.
        const pending = ours && r.dfu && o.product.mode === 'flash-on-line';
        const read = ours && !pending ? await identityOf(current, r.platform, state, step.signal) : {};
        return {
          ...read,
          ...(pending ? { identityPending: true } : {}),
          deviceId: id.deviceId,
          platformId: r.platform.id,
          mode: r.dfu ? 'dfu' : id.mode === 'listening' ? 'listening' : 'normal',
          portPath: current.portPath,
          ...(state.protection ? { protection: state.protection } : {}),
          ...(state.systemVersion !== undefined ? { systemVersion: state.systemVersion } : {}),
          notes: state.notes,
        };
      },
      async install(id, runner) {
        const platform = platformById(id.platformId);
        if (!platform)
          return failWith({ code: 'WRONG_PLATFORM', message: `Unknown platform ${id.platformId}.` });
        // Planned for this device: what it already runs (dependencies, skipWhenCurrent) and
        // whether it is in DFU mode (Particle's repair order).
        const { plan } = planForDevice(o.files, o.product, {
          inDfu: id.mode === 'dfu',
          state,
          skipWhenCurrent: o.skipWhenCurrent,
        });
        const report = await installSet(
          {
            transport: o.transport,
            device: current,
            deviceId: id.deviceId,
            platform,
            protection: state.protection,
            systemVersion: state.systemVersion,
          },
          plan,
          {
            verify: o.verify,
            setupDone: o.setupDone,
            serviceMode: o.serviceMode,
            pollMs: o.pollMs,
            reenumerationTimeoutMs: o.reenumerationTimeoutMs,
            normalRetryDelayMs: o.pollMs,
          },
          runner,
        );
        current = report.device;
      },
      identifyAfterInstall: async (id, step) => {
        const platform = platformById(id.platformId);
        if (!platform)
          return failWith({ code: 'WRONG_PLATFORM', message: `Unknown platform ${id.platformId}.` });
        return identityOf(current, platform, state, step.signal);
      },
      register: (id, step) =>
        o.registrar.register(id.deviceId, step.signal, {
          serialNumber: id.serialNumber,
          iccid: id.iccid,
          imei: id.imei,
        }),
    };
  };

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Result } from '../errors/result';
import { buildModule } from '../firmware/builder';
import { hasRadioStack } from '../firmware/platform-modules';
import type { ModuleSpec } from '../firmware/types';
import type { Platform } from '../platforms';
import { platformByName } from '../platforms/lookup';
import { loadProfile, saveProfile } from './profile';
import { lockProfile } from './profile-lock';
import type { CloudSetupProfile, IdentityProfile, ProfileInput } from './profile-schema';

export const DEMO_PRODUCT_ID = 4242;
export const DEMO_TOKEN_ENV = 'LINESTATION_DEMO_TOKEN';
/** The simulator's devices run Device OS 6.2.1 (system module 6201) out of the box. */
export const DEMO_DEVICE_OS = 6201;
/**
 * The whole set's Device OS (6.3.0) and bootloader: newer than what the simulator's devices run
 * (6.2.1, bootloader 3000), so each module of the set is really written to a simulated device.
 */
export const DEMO_SET_DEVICE_OS = 6300;
export const DEMO_SET_BOOTLOADER = 3100;
/** Nordic's SoftDevice as Device OS numbers its radio stack module. */
export const DEMO_SET_SOFTDEVICE = 204;
// Device OS finds a Gen 3 module prefix at 0x200 only behind a vector table (an initial stack pointer).
const GEN3_STACK_POINTER = 0x2003fc00;

export interface DemoSetup {
  readonly profilePath: string;
  /** The application (user part). */
  readonly firmwarePath: string;
  /** Every firmware file of the profile, in the profile's order (the application last). */
  readonly firmwarePaths: readonly string[];
  readonly token: string;
  readonly profileHash: string;
}

export interface DemoProductOptions {
  readonly platform?: string;
  readonly slots?: number;
  readonly bodySize?: number;
  readonly mode?: 'flash-on-line' | 'ota-on-setup';
  /**
   * A whole Device OS 6.3.0 set instead of the application alone: bootloader (normal mode), the
   * SoftDevice on nRF52840 platforms, system part 1 and the application (DFU). Gen 3 and later.
   */
  readonly wholeSet?: boolean;
  /**
   * Without a whole set: the Device OS (module version) the application is built for and the
   * devices run on arrival (default 6201; 3301 for a Gen 3 line on Device OS 3.3.1).
   */
  readonly deviceOs?: number;
  /** The profile declares Device Protection (protected devices go through Service Mode). */
  readonly deviceProtection?: boolean;
  /** `station.skipWhenCurrent`: a module the device already runs is not written again. */
  readonly skipWhenCurrent?: boolean;
  /** The profile's file name in `dir` (default widget.profile.json), for a second profile beside it. */
  readonly profileName?: string;
  /** `registration.setup`: SIM import, name and notes templates, date group, firmware lock. */
  readonly setup?: CloudSetupProfile;
  /** `identity`: what identify must read (serial number, ICCID). */
  readonly identity?: IdentityProfile;
}

/** The Device OS 6.3.0 modules in front of the application: each newer than the simulator's. */
const setModules = (platform: Platform, bodySize: number): { name: string; spec: ModuleSpec }[] => {
  const sp = platform.generation === 3 ? { initialStackPointer: GEN3_STACK_POINTER } : {};
  return [
    {
      name: 'bootloader.bin',
      spec: {
        platformId: platform.id,
        function: 'bootloader',
        version: DEMO_SET_BOOTLOADER,
        bodySize: Math.min(bodySize, 8 * 1024),
        seed: 11,
        ...sp,
      },
    },
    ...(hasRadioStack(platform)
      ? [
          {
            name: 'softdevice.bin',
            spec: {
              platformId: platform.id,
              function: 'radio' as const,
              version: DEMO_SET_SOFTDEVICE,
              bodySize: Math.min(bodySize, 16 * 1024),
              seed: 12,
            },
          },
        ]
      : []),
    {
      name: 'system-part1.bin',
      spec: {
        platformId: platform.id,
        function: 'system',
        index: 1,
        version: DEMO_SET_DEVICE_OS,
        bodySize,
        seed: 13,
        dependencies: [{ function: 'bootloader', index: 0, version: DEMO_SET_BOOTLOADER }],
        ...sp,
      },
    },
  ];
};

/**
 * Writes a demo product: a generated user part for a Boron (built by the firmware builder, so
 * it parses and validates like a real one), or a whole Device OS set for any Gen 3+ platform, a
 * fully answered profile pointing at `cloudUrl`, locked. Everything lives under `dir`; nothing
 * touches the real cloud.
 */
export const writeDemoProduct = async (
  dir: string,
  cloudUrl: string,
  options: DemoProductOptions = {},
): Promise<Result<DemoSetup>> => {
  const platform = platformByName(options.platform ?? 'boron');
  if (!platform) return err('DEMO_PLATFORM', `Unknown platform ${options.platform}.`);
  // Gen 2 never ran Device OS 6: its sets are built differently (several system parts).
  if (options.wholeSet && platform.generation < 3)
    return err('DEMO_PLATFORM', `The whole-set demo needs a Gen 3 or later platform, not ${platform.name}.`);
  const bodySize = options.bodySize ?? 48 * 1024;
  const deviceOs = options.wholeSet ? DEMO_SET_DEVICE_OS : (options.deviceOs ?? DEMO_DEVICE_OS);
  await mkdir(join(dir, 'firmware'), { recursive: true });
  const modules = options.wholeSet ? setModules(platform, bodySize) : [];
  for (const m of modules) await writeFile(join(dir, 'firmware', m.name), buildModule(m.spec));
  const firmwarePath = join(dir, 'firmware', 'widget-app.bin');
  await writeFile(
    firmwarePath,
    buildModule({
      platformId: platform.id,
      function: 'user',
      version: 6,
      bodySize,
      seed: 42,
      product: { id: DEMO_PRODUCT_ID, version: 3 },
      dependencies: [{ function: 'system', index: 1, version: deviceOs }],
    }),
  );
  const firmware = [...modules.map((m) => `firmware/${m.name}`), 'firmware/widget-app.bin'];
  const token = randomBytes(20).toString('hex');
  const profile: ProfileInput = {
    schemaVersion: 1,
    organization: 'Demo Org',
    product: { id: DEMO_PRODUCT_ID, slug: 'demo-widget', name: 'Demo Widget' },
    platform: platform.name,
    // A whole set carries the system part its application needs; otherwise the devices bring it.
    ...(options.wholeSet ? {} : { deviceOsVersion: deviceOs }),
    ...(options.deviceProtection ? { deviceProtection: true } : {}),
    provisioningMode: options.mode ?? 'flash-on-line',
    customerAuth: 'simple',
    privateBeta: false,
    development: false,
    groups: ['demo'],
    registration: {
      mode: 'cloud',
      apiBaseUrl: cloudUrl,
      tokenEnv: DEMO_TOKEN_ENV,
      ...(options.setup ? { setup: options.setup } : {}),
    },
    ...(options.identity ? { identity: options.identity } : {}),
    // OTA on setup flashes nothing on the line: the cloud's released firmware arrives on setup.
    firmware: options.mode === 'ota-on-setup' ? [] : firmware.map((path) => ({ path })),
    slots: { count: options.slots ?? 4, labels: {} },
    retry: { maxAttempts: 2, retryOn: ['USB_TIMEOUT', 'USB_IO', 'USB_STALL'] },
    ...(options.skipWhenCurrent
      ? { station: { reflashAlreadyProvisioned: false, skipWhenCurrent: true } }
      : {}),
  };
  const profilePath = join(dir, options.profileName ?? 'widget.profile.json');
  const saved = await saveProfile(profilePath, profile);
  if (!saved.ok) return saved;
  const env = { ...process.env, [DEMO_TOKEN_ENV]: token };
  const locked = await lockProfile(saved.value, { env });
  if (!locked.ok) return locked;
  const reloaded = await loadProfile(profilePath);
  if (!reloaded.ok) return reloaded;
  return ok({
    profilePath,
    firmwarePath,
    firmwarePaths: firmware.map((f) => join(dir, f)),
    token,
    profileHash: reloaded.value.profile.lock?.profileHash ?? '',
  });
};

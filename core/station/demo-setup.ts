import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, type Result } from '../errors/result';
import { buildModule } from '../firmware/builder';
import { platformByName } from '../platforms/lookup';
import { loadProfile, saveProfile } from './profile';
import { lockProfile } from './profile-lock';
import type { ProfileInput } from './profile-schema';

export const DEMO_PRODUCT_ID = 4242;
export const DEMO_TOKEN_ENV = 'LINESTATION_DEMO_TOKEN';
/** The simulator's devices run Device OS 6.2.1 (system module 6201) out of the box. */
export const DEMO_DEVICE_OS = 6201;

export interface DemoSetup {
  readonly profilePath: string;
  readonly firmwarePath: string;
  readonly token: string;
  readonly profileHash: string;
}

/**
 * Writes a demo product: a generated user part for a Boron (built by the firmware builder, so
 * it parses and validates like a real one), a fully answered profile pointing at `cloudUrl`,
 * locked. Everything lives under `dir`; nothing touches the real cloud.
 */
export const writeDemoProduct = async (
  dir: string,
  cloudUrl: string,
  options: {
    platform?: string;
    slots?: number;
    bodySize?: number;
    mode?: 'flash-on-line' | 'ota-on-setup';
  } = {},
): Promise<Result<DemoSetup>> => {
  const platform = platformByName(options.platform ?? 'boron');
  if (!platform) return err('DEMO_PLATFORM', `Unknown platform ${options.platform}.`);
  await mkdir(join(dir, 'firmware'), { recursive: true });
  const firmwarePath = join(dir, 'firmware', 'widget-app.bin');
  await writeFile(
    firmwarePath,
    buildModule({
      platformId: platform.id,
      function: 'user',
      version: 6,
      bodySize: options.bodySize ?? 48 * 1024,
      seed: 42,
      product: { id: DEMO_PRODUCT_ID, version: 3 },
      dependencies: [{ function: 'system', index: 1, version: DEMO_DEVICE_OS }],
    }),
  );
  const token = randomBytes(20).toString('hex');
  const profile: ProfileInput = {
    schemaVersion: 1,
    organization: 'Demo Org',
    product: { id: DEMO_PRODUCT_ID, slug: 'demo-widget', name: 'Demo Widget' },
    platform: platform.name,
    deviceOsVersion: DEMO_DEVICE_OS,
    provisioningMode: options.mode ?? 'flash-on-line',
    customerAuth: 'simple',
    privateBeta: false,
    development: false,
    groups: ['demo'],
    registration: { mode: 'cloud', apiBaseUrl: cloudUrl, tokenEnv: DEMO_TOKEN_ENV },
    // OTA on setup flashes nothing on the line: the cloud's released firmware arrives on setup.
    firmware: options.mode === 'ota-on-setup' ? [] : [{ path: 'firmware/widget-app.bin' }],
    slots: { count: options.slots ?? 4, labels: {} },
    retry: { maxAttempts: 2, retryOn: ['USB_TIMEOUT', 'USB_IO', 'USB_STALL'] },
  };
  const profilePath = join(dir, 'widget.profile.json');
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
    token,
    profileHash: reloaded.value.profile.lock?.profileHash ?? '',
  });
};

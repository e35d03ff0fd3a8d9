import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModule } from '../../core/firmware/index';
import { platformByName } from '../../core/platforms/index';
import type { ProfileInput } from '../../core/station/profile-schema';
import { profileSchema } from '../../core/station/profile-schema';

/**
 * A product folder on disk, the way an engineer hands one to a station: generated Particle
 * modules (real bytes, valid CRC and SHA) plus a profile.json beside them. Shared by the
 * station, app and e2e tests so they all exercise the same realistic layout.
 */
export interface ProductFolder {
  dir: string;
  profilePath: string;
  files: Record<string, string>;
}

export interface ProductFolderSpec {
  platform?: string;
  productId?: number;
  /** Product ID written into the user part (default: productId). */
  firmwareProductId?: number;
  mode?: 'flash-on-line' | 'ota-on-setup';
  /** Include a system part 1 in the set (default true; otherwise deviceOsVersion is stated). */
  withSystemPart?: boolean;
  /** Leave the firmware list empty (OTA on setup without files). */
  noFirmware?: boolean;
  /** Overrides merged into the profile. */
  profile?: Partial<ProfileInput>;
  dir?: string;
}

export const makeProductFolder = (spec: ProductFolderSpec = {}): ProductFolder => {
  const dir = spec.dir ?? mkdtempSync(join(tmpdir(), 'ls-profile-'));
  const platformName = spec.platform ?? 'boron';
  const platform = platformByName(platformName);
  if (!platform) throw new Error(`test fixture: unknown platform ${platformName}`);
  const productId = spec.productId ?? 12345;
  const files: Record<string, string> = {};
  const firmware: { path: string }[] = [];
  if (!spec.noFirmware) {
    if (spec.withSystemPart !== false) {
      files.system = 'system-part1.bin';
      writeFileSync(
        join(dir, files.system),
        buildModule({
          platformId: platform.id,
          function: 'system',
          index: 1,
          version: 5600,
          seed: 7,
          bodySize: 2048,
        }),
      );
      firmware.push({ path: files.system });
    }
    files.user = 'app.bin';
    writeFileSync(
      join(dir, files.user),
      buildModule({
        platformId: platform.id,
        function: 'user',
        version: 3,
        product: { id: spec.firmwareProductId ?? productId, version: 3 },
        seed: 11,
        bodySize: 1024,
      }),
    );
    firmware.push({ path: files.user });
  }
  const profile: ProfileInput = {
    schemaVersion: 1,
    organization: 'Acme Sensors',
    product: { id: productId, slug: 'acme-tracker', name: 'Acme Field Tracker' },
    platform: platformName,
    provisioningMode: spec.mode ?? 'flash-on-line',
    customerAuth: 'simple',
    privateBeta: false,
    firmware,
    registration: { mode: 'offline' },
    development: false,
    groups: ['line-1'],
    ...(spec.withSystemPart === false ? { deviceOsVersion: 5600 } : {}),
    ...spec.profile,
  };
  const profilePath = join(dir, 'profile.json');
  // Parse first so a fixture that breaks the schema fails here, loudly, not in the test.
  writeFileSync(profilePath, `${JSON.stringify(profileSchema.parse(profile), null, 2)}\n`);
  return { dir, profilePath, files };
};

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { loadProfile } from '../../core/station/profile';
import type { ProfileInput } from '../../core/station/profile-schema';
import { checkReadiness } from '../../core/station/readiness';
import { cloudReleasedFirmwareCheck } from '../../core/station/readiness-cloud';
import { makeProductFolder } from './profile-fixtures';

let cloud: MockCloud;
beforeAll(async () => {
  cloud = await startMockCloud({
    products: [
      { id: 12345, slug: 'acme-tracker', releasedFirmware: 4 },
      { id: 555, slug: 'no-release' },
    ],
    tokens: [{ token: 'good-token' }],
  });
});
afterAll(async () => {
  await cloud.close();
});

const otaProfile = async (overrides: Partial<ProfileInput> = {}) => {
  const f = makeProductFolder({
    mode: 'ota-on-setup',
    noFirmware: true,
    profile: {
      registration: { mode: 'cloud', apiBaseUrl: cloud.url, tokenEnv: 'LS_CLOUD_TOKEN' },
      ...overrides,
    },
  });
  const loaded = await loadProfile(f.profilePath);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
};

describe('cloudReleasedFirmwareCheck', () => {
  it('asks nobody when the profile is offline, flashes on the line, or the token is not set', async () => {
    const offline = await otaProfile({ registration: { mode: 'offline' } });
    expect(cloudReleasedFirmwareCheck(offline.profile, { LS_CLOUD_TOKEN: 'good-token' })).toBeUndefined();
    const ota = await otaProfile();
    expect(cloudReleasedFirmwareCheck(ota.profile, {})).toBeUndefined();
    expect(
      cloudReleasedFirmwareCheck(
        { ...ota.profile, provisioningMode: 'flash-on-line' },
        { LS_CLOUD_TOKEN: 'x' },
      ),
    ).toBeUndefined();
  });

  it('turns the pending item ok when the mock cloud has a released default firmware', async () => {
    const loaded = await otaProfile();
    const env = { LS_CLOUD_TOKEN: 'good-token' };
    const check = cloudReleasedFirmwareCheck(loaded.profile, env);
    expect(await check?.()).toBe('released');
    const { readiness } = await checkReadiness(loaded, {
      env,
      ...(check ? { releasedFirmwareCheck: check } : {}),
    });
    expect(readiness.items.find((i) => i.id === 'firmware-set')?.status).toBe('ok');
  });

  it('answers none for a product without a release, and unknown for a bad token', async () => {
    const none = await otaProfile({ product: { id: 555, slug: 'no-release', name: 'No release' } });
    expect(await cloudReleasedFirmwareCheck(none.profile, { LS_CLOUD_TOKEN: 'good-token' })?.()).toBe('none');
    const bad = await otaProfile();
    expect(await cloudReleasedFirmwareCheck(bad.profile, { LS_CLOUD_TOKEN: 'wrong' })?.()).toBe('unknown');
  });
});

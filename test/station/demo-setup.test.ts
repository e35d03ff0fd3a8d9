import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectBytes } from '../../core/firmware/inspect';
import { DEMO_SET_BOOTLOADER, DEMO_SET_DEVICE_OS, writeDemoProduct } from '../../core/station/demo-setup';
import { loadProfile } from '../../core/station/profile';
import { tempDir } from '../store/helpers';

/* The demo product (core/station/demo-setup.ts) that the demo, `run --simulate` tests and benches share. */

const URL = 'http://127.0.0.1:9';

const modulesOf = (paths: readonly string[]) =>
  paths.map((p) => {
    const m = inspectBytes(basename(p), readFileSync(p)).module;
    return `${basename(p)} ${m?.function}/${m?.index} v${m?.version}`;
  });

describe('writeDemoProduct', () => {
  it('writes a whole Device OS set for an nRF52840 platform: bootloader, SoftDevice, system part, application', async () => {
    const r = await writeDemoProduct(tempDir('ls-demo-setup-'), URL, { platform: 'tracker', wholeSet: true });
    if (!r.ok) throw new Error(r.error.message);
    expect(modulesOf(r.value.firmwarePaths)).toEqual([
      `bootloader.bin bootloader/0 v${DEMO_SET_BOOTLOADER}`,
      'softdevice.bin radio/0 v204',
      `system-part1.bin system/1 v${DEMO_SET_DEVICE_OS}`,
      'widget-app.bin user/1 v6',
    ]);
    const profile = await loadProfile(r.value.profilePath);
    if (!profile.ok) throw new Error(profile.error.message);
    // The set brings its own system part; the profile says nothing about what devices arrive with.
    expect(profile.value.profile.deviceOsVersion).toBeUndefined();
    expect(profile.value.profile.firmware.map((f) => f.path)).toEqual([
      'firmware/bootloader.bin',
      'firmware/softdevice.bin',
      'firmware/system-part1.bin',
      'firmware/widget-app.bin',
    ]);
    expect(profile.value.profile.lock?.profileHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves the SoftDevice out where the platform keeps none (P2), and refuses a Gen 2 whole set', async () => {
    const p2 = await writeDemoProduct(tempDir('ls-demo-setup-'), URL, { platform: 'p2', wholeSet: true });
    if (!p2.ok) throw new Error(p2.error.message);
    expect(p2.value.firmwarePaths.map((p) => basename(p))).toEqual([
      'bootloader.bin',
      'system-part1.bin',
      'widget-app.bin',
    ]);
    const photon = await writeDemoProduct(tempDir('ls-demo-setup-'), URL, {
      platform: 'photon',
      wholeSet: true,
    });
    expect(photon.ok ? 'written' : photon.error.code).toBe('DEMO_PLATFORM');
  });

  it('builds the application for the Device OS the devices arrive with, and writes the profile switches asked for', async () => {
    const dir = tempDir('ls-demo-setup-');
    const r = await writeDemoProduct(dir, URL, {
      deviceOs: 3301,
      deviceProtection: true,
      skipWhenCurrent: true,
      profileName: 'second.profile.json',
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.profilePath).toBe(join(dir, 'second.profile.json'));
    const app = inspectBytes('app', readFileSync(r.value.firmwarePath)).module;
    expect(app?.dependencies.filter((d) => d.function !== 'none')).toEqual([
      expect.objectContaining({ function: 'system', index: 1, version: 3301 }),
    ]);
    const profile = await loadProfile(r.value.profilePath);
    if (!profile.ok) throw new Error(profile.error.message);
    expect(profile.value.profile).toMatchObject({
      deviceOsVersion: 3301,
      deviceProtection: true,
      station: { skipWhenCurrent: true },
    });
  });
});

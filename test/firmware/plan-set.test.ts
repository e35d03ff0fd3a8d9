import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import { parseModule } from '../../core/firmware/module-parser';
import { planSet } from '../../core/firmware/plan-set';
import { protectModule } from '../../core/firmware/protect';
import type { InspectedFile, ModuleSpec, PlanStep, PlanTarget } from '../../core/firmware/types';
import { validateSet } from '../../core/firmware/validate-set';
import { haveParticleBinaries, particleBinariesDir, skipReason } from './shared-fixtures';

/* The whole-set install plan (core/firmware/plan-set.ts): paths, Particle's order, dependencies, protection. */

const PRODUCT = 77;
const file = (name: string, spec: ModuleSpec): InspectedFile => inspectBytes(name, buildModule(spec));
const target = (platformId: number, extra: Partial<PlanTarget> = {}): PlanTarget => ({
  platformId,
  productId: PRODUCT,
  mode: 'flash-on-line',
  ...extra,
});
const codes = (r: { errors: readonly { code: string }[] }) => r.errors.map((e) => e.code);
const line = (s: PlanStep) => `${s.path}:${s.image.label}${s.skip ? `:skip-${s.skip}` : ''}`;

const BORON = 13;
const ARGON = 12;
const P2 = 32;
const PHOTON = 6;

const boronSet = () => ({
  boot: file('boot.bin', { platformId: BORON, function: 'bootloader', version: 3001 }),
  radio: file('softdevice.bin', {
    platformId: BORON,
    function: 'radio',
    version: 204,
    flags: 0x01,
    dependencies: [{ function: 'bootloader', index: 0, version: 3001 }],
  }),
  sys: file('sys.bin', {
    platformId: BORON,
    function: 'system',
    version: 6101,
    dependencies: [{ function: 'bootloader', index: 0, version: 3001 }],
  }),
  app: file('app.bin', {
    platformId: BORON,
    function: 'user',
    product: { id: PRODUCT, version: 1 },
    dependencies: [{ function: 'system', index: 1, version: 6101 }],
  }),
});

describe('planSet: paths and order', () => {
  it('sends the bootloader in normal mode, then the radio stack, system and user parts over DFU', () => {
    const s = boronSet();
    const plan = planSet([s.app, s.sys, s.boot, s.radio], target(BORON));
    expect(plan.errors).toEqual([]);
    expect(plan.steps.map(line)).toEqual([
      'normal:boot.bin',
      'dfu:softdevice.bin',
      'dfu:sys.bin',
      'dfu:erase the pre-3.1 user part at 0x000D4000',
      'dfu:app.bin',
    ]);
    for (const step of plan.steps) {
      expect(step.expectedMs).toBeGreaterThan(0);
      expect(step.reason).toMatch(/\.$/);
    }
    expect(plan.expectedMs).toBeGreaterThan(plan.steps.reduce((ms, st) => ms + st.expectedMs, 0));
    // The radio stack goes without its prefix (DROP_MODULE_INFO), at its start address, as particle-cli does.
    const radio = plan.steps[1];
    expect(radio?.image.data.length).toBe((s.radio.module?.endAddress ?? 0) + 4 - 0x1000 - 24);
    expect(radio?.image).toMatchObject({ address: 0x1000 });
    // The bootloader goes whole: the device validates the module it receives.
    expect(plan.steps[0]?.image.data.length).toBe(s.boot.size);
    expect(plan.steps[0]?.reason).toMatch(/normal mode/);
  });

  it('puts DFU steps first for a device already in DFU mode (a repair), and assets always last', () => {
    const s = boronSet();
    const asset = file('logo.bin', { platformId: BORON, function: 'asset' });
    const plan = planSet([asset, s.app, s.sys, s.boot], target(BORON, { alreadyInDfu: true }));
    expect(plan.errors).toEqual([]);
    expect(plan.steps.map((st) => `${st.path}:${st.image.label}`)).toEqual([
      'dfu:sys.bin',
      'dfu:erase the pre-3.1 user part at 0x000D4000',
      'dfu:app.bin',
      'normal:boot.bin',
      'normal:logo.bin',
    ]);
    const fresh = planSet([asset, s.app, s.sys, s.boot], target(BORON));
    expect(fresh.steps.map((st) => st.image.label).at(-1)).toBe('logo.bin');
    expect(fresh.steps[0]?.image.label).toBe('boot.bin');
  });

  it('uses normal mode for the P2 bootloader too, after the prebootloader it depends on', () => {
    const pre = file('prebootloader.bin', {
      platformId: P2,
      function: 'bootloader',
      index: 2,
      version: 7,
      startAddress: 0x08000000,
    });
    const boot = file('bootloader.bin', {
      platformId: P2,
      function: 'bootloader',
      version: 3001,
      dependencies: [{ function: 'bootloader', index: 2, version: 7 }],
    });
    const app = file('app.bin', { platformId: P2, function: 'user', product: { id: PRODUCT, version: 1 } });
    const plan = planSet([app, boot, pre], target(P2, { deviceOsVersion: 5600 }));
    expect(plan.errors).toEqual([]);
    expect(plan.steps.map(line)).toEqual([
      'normal:prebootloader.bin',
      'normal:bootloader.bin',
      'dfu:app.bin',
    ]);
  });

  it('sends NCP firmware in normal mode where the platform has an NCP, and refuses it elsewhere', () => {
    const ncp = (platformId: number) => file('ncp.bin', { platformId, function: 'ncp', version: 5 });
    const app = (platformId: number) =>
      file('app.bin', { platformId, function: 'user', product: { id: PRODUCT, version: 1 } });
    const argon = planSet([app(ARGON), ncp(ARGON)], target(ARGON, { deviceOsVersion: 5600 }));
    expect(argon.errors).toEqual([]);
    expect(argon.steps.map(line)).toEqual([
      'normal:ncp.bin',
      'dfu:erase the pre-3.1 user part at 0x000D4000',
      'dfu:app.bin',
    ]);
    expect(argon.steps[0]?.expectedMs).toBeGreaterThan(15_000);
    const boron = planSet([app(BORON), ncp(BORON)], target(BORON, { deviceOsVersion: 5600 }));
    expect(codes(boron)).toEqual(['FIRMWARE_NO_NCP']);
    expect(boron.errors[0]?.message).toMatch(/ncp\.bin .*Boron has no NCP/);
    expect(codes(planSet([app(P2), ncp(P2)], target(P2, { deviceOsVersion: 5600 })))).toEqual([
      'FIRMWARE_NO_NCP',
    ]);
  });

  it('refuses a bootloader for another platform, and modules the station does not install', () => {
    const s = boronSet();
    const argonBoot = file('argon-boot.bin', { platformId: ARGON, function: 'bootloader', version: 3001 });
    expect(codes(planSet([s.app, s.sys, argonBoot], target(BORON)))).toEqual(['FIRMWARE_WRONG_PLATFORM']);
    const settings = file('settings.bin', { platformId: BORON, function: 'settings' });
    expect(codes(planSet([s.app, s.sys, settings], target(BORON)))).toEqual([
      'FIRMWARE_MODULE_NOT_INSTALLABLE',
    ]);
    const p2Radio = file('radio.bin', { platformId: P2, function: 'radio', startAddress: 0x08100000 });
    expect(codes(planSet([p2Radio], target(P2)))[0]).toBe('FIRMWARE_MODULE_NOT_INSTALLABLE');
  });

  it('refuses a compressed module on the DFU path, and in normal mode where Device OS cannot unpack it', () => {
    const s = boronSet();
    const packedApp = file('app.bin', {
      platformId: BORON,
      function: 'user',
      flags: 0x02,
      product: { id: PRODUCT, version: 1 },
      dependencies: [{ function: 'system', index: 1, version: 6101 }],
    });
    expect(codes(planSet([packedApp, s.sys], target(BORON)))).toEqual(['FIRMWARE_COMPRESSED']);
    // Gen 3 Device OS unpacks compressed modules it receives (compressed OTA); Gen 2 does not.
    const packedBoot = file('boot.bin', {
      platformId: BORON,
      function: 'bootloader',
      version: 3001,
      flags: 0x02,
    });
    expect(planSet([s.app, s.sys, packedBoot], target(BORON)).errors).toEqual([]);
    const photonApp = file('app.bin', {
      platformId: PHOTON,
      function: 'user',
      product: { id: PRODUCT, version: 1 },
    });
    const photonBoot = file('boot.bin', { platformId: PHOTON, function: 'bootloader', flags: 0x02 });
    const photon = planSet([photonApp, photonBoot], target(PHOTON, { deviceOsVersion: 5600 }));
    expect(codes(photon)).toEqual(['FIRMWARE_COMPRESSED']);
    expect(photon.errors[0]?.message).toMatch(/Photon/);
  });

  it('writes the same DFU images, in the same order, as validateSet for a DFU-only set', () => {
    const s = boronSet();
    const t = target(BORON, { deviceOsVersion: 6101 });
    const files = [s.app, s.sys];
    const dfu = planSet(files, t).steps.filter((st) => st.path === 'dfu');
    expect(dfu.map((st) => [st.image.label, st.image.data])).toEqual(
      validateSet(files, t).plan.map((i) => [i.label, i.data]),
    );
  });

  it('plans nothing in OTA-on-setup mode but still checks platform and product', () => {
    const s = boronSet();
    const plan = planSet([s.app, s.boot], target(BORON, { mode: 'ota-on-setup' }));
    expect(plan.steps).toEqual([]);
    expect(plan.errors).toEqual([]);
    const other = file('other.bin', { platformId: BORON, function: 'user', product: { id: 9, version: 1 } });
    expect(codes(planSet([other], target(BORON, { mode: 'ota-on-setup' })))).toEqual([
      'FIRMWARE_WRONG_PRODUCT',
    ]);
  });
});

describe('planSet: dependencies against the set and the device', () => {
  const sys = (bootloader: number) =>
    file('sys.bin', {
      platformId: BORON,
      function: 'system',
      version: 6101,
      dependencies: [{ function: 'bootloader', index: 0, version: bootloader }],
    });
  const app = file('app.bin', {
    platformId: BORON,
    function: 'user',
    product: { id: PRODUCT, version: 1 },
    dependencies: [{ function: 'system', index: 1, version: 6101 }],
  });
  const boot = (version: number) =>
    file(`boot-${version}.bin`, { platformId: BORON, function: 'bootloader', version });

  it('is met by a bootloader the set carries, and refused when the set carries an older one', () => {
    expect(planSet([app, sys(3001), boot(3001)], target(BORON)).errors).toEqual([]);
    const old = planSet([app, sys(3001), boot(2400)], target(BORON));
    expect(codes(old)).toEqual(['FIRMWARE_DEPENDENCY_UNMET']);
    expect(old.errors[0]?.message).toBe(
      'sys.bin needs bootloader 0 v3001 or later, but the set holds v2400.',
    );
  });

  it('without device information, says what every device must already run', () => {
    const plan = planSet([app, sys(3001)], target(BORON));
    expect(plan.errors).toEqual([]);
    expect(plan.requires).toEqual([
      expect.objectContaining({ function: 'bootloader', index: 0, version: 3001, neededBy: ['sys.bin'] }),
    ]);
    expect(plan.requires[0]?.message).toMatch(/must already run bootloader 0 v3001 or later/);
  });

  it('is met by what the device reports it runs, and refused when the device runs less', () => {
    const runs = (version: number) => [
      { function: 'bootloader' as const, index: 0, version },
      { function: 'system' as const, index: 1, version: 5600 },
    ];
    const met = planSet([app, sys(3001)], target(BORON, { deviceModules: runs(3100) }));
    expect([met.errors, met.requires]).toEqual([[], []]);
    const short = planSet([app, sys(3001)], target(BORON, { deviceModules: runs(2400) }));
    expect(codes(short)).toEqual(['FIRMWARE_DEVICE_DEPENDENCY_UNMET']);
    expect(short.errors[0]?.message).toBe(
      'sys.bin needs bootloader 0 v3001 or later; the set does not include it and the device runs v2400.',
    );
    const none = planSet([app, sys(3001)], target(BORON, { deviceModules: [] }));
    expect(none.errors[0]?.message).toMatch(/the device reports no bootloader 0/);
    // A system part the device reports counts like a stated Device OS version.
    const onlyApp = planSet(
      [app],
      target(BORON, { deviceModules: [{ function: 'system', index: 1, version: 6101 }] }),
    );
    expect(onlyApp.errors).toEqual([]);
  });
});

describe('planSet: Device Protection', () => {
  const s = boronSet();

  it('seals the bootloader as protected for a protected device, and the plan sends the sealed module', () => {
    const plan = planSet([s.app, s.sys, s.boot], target(BORON, { deviceProtection: true }));
    expect(plan.errors).toEqual([]);
    const boot = plan.steps[0];
    expect(boot?.protected).toBe(true);
    const sealed = parseModule('boot', boot?.image.data ?? new Uint8Array());
    expect(sealed.ok && sealed.module.securityMode).toBe(1);
    expect(boot?.module?.securityMode).toBe(1);
    const expected = protectModule(
      'boot.bin',
      buildModule({ platformId: BORON, function: 'bootloader', version: 3001 }),
    );
    expect(expected.ok && Buffer.from(expected.value).equals(Buffer.from(boot?.image.data ?? []))).toBe(true);
  });

  it('refuses system parts below 6101 and a bootloader below 3001 for a protected device', () => {
    const oldSys = file('sys.bin', { platformId: BORON, function: 'system', version: 6100 });
    const oldBoot = file('boot.bin', { platformId: BORON, function: 'bootloader', version: 3000 });
    const plan = planSet(
      [s.app, oldSys, oldBoot],
      target(BORON, { deviceProtection: true, deviceOsVersion: 6101 }),
    );
    expect(codes(plan)).toContain('FIRMWARE_BELOW_PROTECTION_MINIMUM');
    expect(plan.errors.filter((e) => e.code === 'FIRMWARE_BELOW_PROTECTION_MINIMUM')).toHaveLength(2);
    // Not a protected device: the same set is only judged on its dependencies.
    expect(codes(planSet([oldBoot, s.sys, s.app], target(BORON)))).toEqual(['FIRMWARE_DEPENDENCY_UNMET']);
  });

  it('refuses a protected bootloader for an open product', () => {
    const sealed = protectModule(
      'boot.bin',
      buildModule({ platformId: BORON, function: 'bootloader', version: 3001 }),
    );
    if (!sealed.ok) throw new Error(sealed.error.message);
    const boot = inspectBytes('boot-protected.bin', sealed.value);
    expect(codes(planSet([s.app, s.sys, boot], target(BORON)))).toEqual(['FIRMWARE_PROTECTED_BOOTLOADER']);
    const kept = planSet([s.app, s.sys, boot], target(BORON, { deviceProtection: true }));
    expect(kept.errors).toEqual([]);
    expect(kept.steps[0]?.image.data).toEqual(sealed.value);
  });
});

describe('planSet: what the device already has', () => {
  const s = boronSet();

  it('skips an asset the device already holds (same name and SHA-256), not one that differs', () => {
    const hash = new Uint8Array(32).fill(7);
    const asset = file('logo.bin', {
      platformId: BORON,
      function: 'asset',
      suffixExtensions: [{ type: 0x0010, payload: new Uint8Array([0, 32, ...hash]) }],
    });
    const have = (name: string, h: string) => target(BORON, { deviceAssets: [{ name, hash: h }] });
    const same = planSet([s.app, s.sys, s.boot, asset], have('logo.bin', '07'.repeat(32)));
    expect(same.steps.at(-1)).toMatchObject({ skip: 'asset-present', path: 'normal' });
    expect(
      planSet([s.app, s.sys, s.boot, asset], have('logo.bin', '08'.repeat(32))).steps.at(-1)?.skip,
    ).toBeUndefined();
    expect(
      planSet([s.app, s.sys, s.boot, asset], have('other.bin', '07'.repeat(32))).steps.at(-1)?.skip,
    ).toBeUndefined();
  });

  it('with skipWhenCurrent, skips a module the device runs at the same version and hash', () => {
    const runs = [
      { function: 'system' as const, index: 1, version: 6101, hash: s.sys.module?.fwUniqueId },
      { function: 'bootloader' as const, index: 0, version: 3001, hash: '00'.repeat(32) },
    ];
    const plan = planSet(
      [s.app, s.sys, s.boot],
      target(BORON, { deviceModules: runs, skipWhenCurrent: true }),
    );
    expect(plan.steps.map(line)).toEqual([
      'normal:boot.bin',
      'dfu:sys.bin:skip-current',
      'dfu:erase the pre-3.1 user part at 0x000D4000',
      'dfu:app.bin',
    ]);
    const always = planSet([s.app, s.sys, s.boot], target(BORON, { deviceModules: runs }));
    expect(always.steps.some((st) => st.skip)).toBe(false);
    expect(plan.expectedMs).toBeLessThan(always.expectedMs);
  });
});

describe.skipIf(!haveParticleBinaries)(
  `planSet on Particle's binaries (${haveParticleBinaries ? 'present' : skipReason})`,
  () => {
    const real = (name: string) =>
      inspectBytes(name, new Uint8Array(readFileSync(join(particleBinariesDir, name))));

    it('plans the Argon SoftDevice over DFU without its prefix, and the Argon NCP in normal mode', () => {
      const app = file('app.bin', {
        platformId: ARGON,
        function: 'user',
        product: { id: PRODUCT, version: 1 },
      });
      const plan = planSet(
        [app, real('argon-softdevice-6.1.1.bin'), real('argon-ncp-firmware-0.0.5-ota.bin')],
        target(ARGON, {
          deviceOsVersion: 5600,
          deviceModules: [
            { function: 'bootloader', index: 0, version: 3001 },
            { function: 'system', index: 1, version: 5600 },
          ],
        }),
      );
      expect(plan.errors).toEqual([]);
      expect(plan.steps.map(line)).toEqual([
        'normal:argon-ncp-firmware-0.0.5-ota.bin',
        'dfu:argon-softdevice-6.1.1.bin',
        'dfu:erase the pre-3.1 user part at 0x000D4000',
        'dfu:app.bin',
      ]);
      expect(plan.steps[1]?.image).toMatchObject({ address: 0x1000 });
      expect(plan.steps[1]?.image.data.length).toBe(151080 - 24);
      expect(plan.steps[0]?.image.data.length).toBe(829248);
    });

    it('plans the Tracker bootloader in normal mode, sealed like tracker-bootloader-protected.bin on a protected product', () => {
      const app = file('app.bin', { platformId: 26, function: 'user', product: { id: PRODUCT, version: 1 } });
      const boot = real('tracker-bootloader@5.6.0.bin');
      const open = planSet([app, boot], target(26, { deviceOsVersion: 5600 }));
      expect(open.errors).toEqual([]);
      expect(open.steps[0]).toMatchObject({ path: 'normal' });
      const prot = planSet(
        [app, real('tracker-bootloader-protected.bin')],
        target(26, { deviceOsVersion: 5600 }),
      );
      expect(codes(prot)).toEqual(['FIRMWARE_PROTECTED_BOOTLOADER']);
    });
  },
);

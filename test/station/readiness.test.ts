import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReadinessItem } from '../../core/contract/views';
import { buildModule, type ModuleSpec, protectModule } from '../../core/firmware/index';
import { type LoadedProfile, loadProfile } from '../../core/station/profile';
import { lockProfile } from '../../core/station/profile-lock';
import { checkReadiness, READINESS_ITEM_IDS, type ReadinessOptions } from '../../core/station/readiness';
import { makeProductFolder, type ProductFolderSpec } from './profile-fixtures';

const load = async (path: string): Promise<LoadedProfile> => {
  const r = await loadProfile(path);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

const lockedFolder = async (spec: ProductFolderSpec = {}) => {
  const f = makeProductFolder(spec);
  const r = await lockProfile(await load(f.profilePath), { env: {} });
  if (!r.ok) throw new Error(r.error.message);
  return f;
};

const items = async (path: string, options: ReadinessOptions = {}) => {
  const report = await checkReadiness(await load(path), { env: {}, ...options });
  const byId = Object.fromEntries(report.readiness.items.map((i) => [i.id, i])) as Record<
    string,
    ReadinessItem
  >;
  return { report, byId };
};

describe('checkReadiness', () => {
  it('is ready for a complete, locked flash-on-line profile', async () => {
    const f = await lockedFolder();
    const { report } = await items(f.profilePath);
    expect(report.readiness.items.map((i) => i.id)).toEqual([...READINESS_ITEM_IDS]);
    expect(report.readiness.items.filter((i) => !i.ok)).toEqual([]);
    expect(report.readiness.ready).toBe(true);
  });

  it('lists every unanswered question', async () => {
    const f = makeProductFolder({
      profile: {
        organization: undefined,
        privateBeta: undefined,
        registration: undefined,
        development: undefined,
      },
    });
    const { byId, report } = await items(f.profilePath);
    expect(report.readiness.ready).toBe(false);
    expect(byId.questions?.status).toBe('fail');
    expect(byId.questions?.details).toHaveLength(4);
    expect(byId.questions?.message).toMatch(/organization.*private beta.*registration.*development/);
    expect(byId.registration?.status).toBe('fail');
  });

  it('says the profile is not locked and which files are unpinned', async () => {
    const f = makeProductFolder();
    const { byId } = await items(f.profilePath);
    expect(byId.locked?.status).toBe('fail');
    expect(byId['firmware-files']?.message).toMatch(/Not pinned yet: system-part1.bin, app.bin/);
  });

  it('refuses a firmware file changed after locking as TAMPERED', async () => {
    const f = await lockedFolder();
    appendFileSync(join(f.dir, f.files.user as string), 'evil');
    const { byId, report } = await items(f.profilePath);
    expect(report.readiness.ready).toBe(false);
    expect(byId['firmware-files']?.message).toMatch(/^TAMPERED: app.bin changed on disk/);
    expect(byId.locked?.message).toMatch(/^TAMPERED/);
    expect(report.integrity.tampered).toBe(true);
  });

  it('reports a missing firmware file and cannot judge completeness', async () => {
    const f = makeProductFolder();
    rmSync(join(f.dir, f.files.system as string));
    const { byId } = await items(f.profilePath);
    expect(byId['firmware-files']?.message).toMatch(/Missing or unreadable: system-part1.bin/);
    expect(byId['firmware-set']?.status).toBe('fail');
  });

  it('catches firmware for another product', async () => {
    const f = makeProductFolder({ firmwareProductId: 4242 });
    const { byId } = await items(f.profilePath);
    expect(byId['firmware-product']?.status).toBe('fail');
    expect(byId['firmware-product']?.details.join(' ')).toMatch(/FIRMWARE_WRONG_PRODUCT.*4242/);
  });

  it('catches firmware for another platform', async () => {
    const f = makeProductFolder({ platform: 'boron' });
    writeFileSync(
      join(f.dir, f.files.user as string),
      buildModule({ platformId: 32, function: 'user', product: { id: 12345, version: 1 } }),
    );
    const { byId } = await items(f.profilePath);
    expect(byId['firmware-product']?.details.join(' ')).toMatch(/FIRMWARE_WRONG_PLATFORM/);
  });

  it('needs a user part when flashing on the line', async () => {
    const f = makeProductFolder();
    const { profile } = await load(f.profilePath);
    writeFileSync(
      f.profilePath,
      JSON.stringify({ ...profile, firmware: profile.firmware.filter((e) => e.path !== f.files.user) }),
    );
    const { byId } = await items(f.profilePath);
    expect(byId['firmware-set']?.status).toBe('fail');
    expect(byId['firmware-set']?.message).toMatch(/FIRMWARE_NO_USER_PART/);
  });

  it('needs the user part dependency met (set or stated Device OS)', async () => {
    const f = makeProductFolder({ withSystemPart: false, profile: { deviceOsVersion: undefined } });
    const { byId } = await items(f.profilePath);
    expect(byId['firmware-set']?.status).toBe('fail');
    expect(byId['firmware-set']?.message).toMatch(/FIRMWARE_DEPENDENCY_UNMET/);
    const stated = makeProductFolder({ withSystemPart: false });
    expect((await items(stated.profilePath)).byId['firmware-set']?.status).toBe('ok');
  });

  it('leaves OTA-on-setup pending without a cloud check, and follows the check when given', async () => {
    const f = await lockedFolder({ mode: 'ota-on-setup', noFirmware: true });
    const pending = await items(f.profilePath);
    expect(pending.byId['firmware-set']?.status).toBe('pending');
    expect(pending.byId['firmware-set']?.message).toMatch(/released default firmware/);
    expect(pending.report.readiness.ready).toBe(false);

    const released = await items(f.profilePath, { releasedFirmwareCheck: async () => 'released' });
    expect(released.report.readiness.ready).toBe(true);
    const none = await items(f.profilePath, { releasedFirmwareCheck: async () => 'none' });
    expect(none.byId['firmware-set']?.status).toBe('fail');
    const unknown = await items(f.profilePath, { releasedFirmwareCheck: async () => 'unknown' });
    expect(unknown.byId['firmware-set']?.status).toBe('unknown');
    const thrown = await items(f.profilePath, {
      releasedFirmwareCheck: async () => {
        throw new Error('network down');
      },
    });
    expect(thrown.byId['firmware-set']?.status).toBe('unknown');
  });

  it('needs the token variable to be set for cloud registration, never reading a token from the profile', async () => {
    const f = makeProductFolder({
      profile: {
        registration: { mode: 'cloud', apiBaseUrl: 'http://127.0.0.1:9', tokenEnv: 'LS_TEST_TOKEN' },
      },
    });
    const missing = await items(f.profilePath, { env: {} });
    expect(missing.byId.registration?.status).toBe('fail');
    expect(missing.byId.registration?.message).toMatch(/LS_TEST_TOKEN is not set/);
    const set = await items(f.profilePath, { env: { LS_TEST_TOKEN: 'x' } });
    expect(set.byId.registration?.status).toBe('ok');
  });

  it('refuses an unknown or deprecated platform', async () => {
    const f = makeProductFolder({ platform: 'xenon' });
    const { byId } = await items(f.profilePath);
    expect(byId.platform?.message).toMatch(/deprecated/);
    const g = makeProductFolder();
    const { profile } = await load(g.profilePath);
    writeFileSync(g.profilePath, JSON.stringify({ ...profile, platform: 'toaster' }));
    const unknown = await items(g.profilePath);
    expect(unknown.byId.platform?.status).toBe('fail');
    expect(unknown.byId['firmware-product']?.status).toBe('unknown');
  });

  it('goes through the injected firmware checker', async () => {
    const f = makeProductFolder();
    const { byId } = await items(f.profilePath, {
      firmware: {
        inspect: async (path) => ({ file: path, size: 1, sha256: '0'.repeat(64), kind: 'raw', images: [] }),
        validateFile: () => [{ code: 'FAKE_FILE', message: 'fake file problem' }],
        validateSet: () => [{ code: 'FAKE_SET', message: 'fake set problem' }],
      },
    });
    expect(byId['firmware-product']?.details[0]).toMatch(/FAKE_FILE/);
    expect(byId['firmware-set']?.details).toContain('FAKE_SET: fake set problem');
  });

  describe('the whole-set plan', () => {
    /** Adds firmware files beside the profile (unpinned: the files item fails, the firmware items still judge). */
    const withFiles = async (
      spec: ProductFolderSpec,
      extra: Record<string, Uint8Array>,
      profile: Record<string, unknown> = {},
    ) => {
      const f = makeProductFolder(spec);
      for (const [name, bytes] of Object.entries(extra)) writeFileSync(join(f.dir, name), bytes);
      const loaded = await load(f.profilePath);
      writeFileSync(
        f.profilePath,
        JSON.stringify({
          ...loaded.profile,
          ...profile,
          firmware: [...loaded.profile.firmware, ...Object.keys(extra).map((path) => ({ path }))],
        }),
      );
      return items(f.profilePath);
    };
    type Spec = Omit<ModuleSpec, 'platformId'>;
    const boron = (spec: Spec) => buildModule({ platformId: 13, ...spec });
    const bootloader = (version: number, extra: Partial<Spec> = {}) =>
      boron({ function: 'bootloader', version, seed: 3, ...extra });

    it('accepts a Gen 3 bootloader (normal mode) and shows each step with its path and expected time', async () => {
      const { byId, report } = await withFiles({}, { 'boot.bin': bootloader(3001) });
      expect(byId['firmware-product']?.status).toBe('ok');
      const set = byId['firmware-set'];
      expect(set?.status).toBe('ok');
      expect(set?.message).toMatch(/Plan: 4 steps \(1 normal, 3 DFU\), about \d/);
      expect(set?.details[0]).toMatch(/^1\. normal +bootloader 0 v3001 .*~[\d.]+ s +boot\.bin$/);
      expect(set?.details[1]).toMatch(/^2\. DFU +0x00030000 alt 0 .*system-part1\.bin$/);
      expect(set?.details[2]).toMatch(/^3\. DFU +0x000D4000 alt 0 .*erase the pre-3\.1 user part/);
      expect(set?.details[3]).toMatch(/^4\. DFU +0x000B4000 alt 0 .*app\.bin$/);
      expect(report.plan?.steps.map((st) => st.path)).toEqual(['normal', 'dfu', 'dfu', 'dfu']);
    });

    it('lists what every device must already run when the set does not carry it', async () => {
      const sys = boron({
        function: 'system',
        version: 5600,
        seed: 7,
        bodySize: 2048,
        dependencies: [{ function: 'bootloader', index: 0, version: 2400 }],
      });
      const f = makeProductFolder();
      writeFileSync(join(f.dir, f.files.system as string), sys);
      const { byId } = await items(f.profilePath);
      expect(byId['firmware-set']?.status).toBe('ok');
      expect(byId['firmware-set']?.details.at(-1)).toMatch(/must already run bootloader 0 v2400 or later/);
    });

    it('refuses bad input by name before any device is touched', async () => {
      const detail = async (...args: Parameters<typeof withFiles>) => {
        const { byId } = await withFiles(...args);
        return [byId['firmware-product'], byId['firmware-set']].flatMap((i) => i?.details ?? []).join('\n');
      };
      expect(
        await detail(
          {},
          { 'boot.bin': buildModule({ platformId: 12, function: 'bootloader', version: 3001 }) },
        ),
      ).toMatch(/boot\.bin: FIRMWARE_WRONG_PLATFORM/);
      const sealed = protectModule('boot.bin', bootloader(3001));
      if (!sealed.ok) throw new Error(sealed.error.message);
      expect(await detail({}, { 'boot.bin': sealed.value })).toMatch(
        /boot\.bin: FIRMWARE_PROTECTED_BOOTLOADER/,
      );
      expect(await detail({}, { 'ncp.bin': boron({ function: 'ncp', version: 5 }) })).toMatch(
        /ncp\.bin: FIRMWARE_NO_NCP/,
      );
      const needsNewer = boron({
        function: 'system',
        version: 5600,
        seed: 7,
        bodySize: 2048,
        dependencies: [{ function: 'bootloader', index: 0, version: 3001 }],
      });
      const old = await withFiles({}, { 'boot.bin': bootloader(2400) });
      expect(old.byId['firmware-set']?.status).toBe('ok');
      const f = makeProductFolder();
      writeFileSync(join(f.dir, f.files.system as string), needsNewer);
      writeFileSync(join(f.dir, 'boot.bin'), bootloader(2400));
      const loaded = await load(f.profilePath);
      writeFileSync(
        f.profilePath,
        JSON.stringify({ ...loaded.profile, firmware: [...loaded.profile.firmware, { path: 'boot.bin' }] }),
      );
      const tooOld = await items(f.profilePath);
      expect(tooOld.byId['firmware-set']?.message).toMatch(
        /FIRMWARE_DEPENDENCY_UNMET: system-part1\.bin needs bootloader 0 v3001 or later, but the set holds v2400\./,
      );
      expect(await detail({}, { 'packed.bin': bootloader(3001, { flags: 0x02 }) })).not.toMatch(
        /FIRMWARE_COMPRESSED/,
      );
      const packedApp = buildModule({
        platformId: 13,
        function: 'user',
        flags: 0x02,
        product: { id: 12345, version: 3 },
      });
      const g = makeProductFolder();
      writeFileSync(join(g.dir, g.files.user as string), packedApp);
      expect((await items(g.profilePath)).byId['firmware-product']?.details.join(' ')).toMatch(
        /FIRMWARE_COMPRESSED/,
      );
    });

    it('holds a product with Device Protection to Device OS 6.1.1 and seals its bootloader', async () => {
      const old = await withFiles({}, { 'boot.bin': bootloader(3001) }, { deviceProtection: true });
      expect(old.byId['firmware-product']?.details.join('\n')).toMatch(
        /system-part1\.bin: FIRMWARE_BELOW_PROTECTION_MINIMUM/,
      );
      const f = makeProductFolder({ profile: { deviceProtection: true } });
      writeFileSync(
        join(f.dir, f.files.system as string),
        boron({ function: 'system', version: 6101, seed: 7 }),
      );
      writeFileSync(
        join(f.dir, f.files.user as string),
        boron({
          function: 'user',
          product: { id: 12345, version: 3 },
          dependencies: [{ function: 'system', index: 1, version: 6101 }],
        }),
      );
      writeFileSync(join(f.dir, 'boot.bin'), bootloader(3001));
      const loaded = await load(f.profilePath);
      writeFileSync(
        f.profilePath,
        JSON.stringify({ ...loaded.profile, firmware: [...loaded.profile.firmware, { path: 'boot.bin' }] }),
      );
      const { byId, report } = await items(f.profilePath);
      expect(byId['firmware-product']?.status).toBe('ok');
      expect(byId['firmware-set']?.details[0]).toMatch(
        /^1\. normal +bootloader 0 v3001, sealed as protected /,
      );
      expect(report.plan?.steps[0]?.protected).toBe(true);
    });
  });
});

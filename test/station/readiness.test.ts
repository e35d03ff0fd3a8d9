import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReadinessItem } from '../../core/contract/views';
import { buildModule } from '../../core/firmware/index';
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
});

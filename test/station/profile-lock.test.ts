import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LoadedProfile, loadProfile } from '../../core/station/profile';
import { profileHash } from '../../core/station/profile-integrity';
import { lockProfile } from '../../core/station/profile-lock';
import { makeProductFolder, type ProductFolderSpec } from './profile-fixtures';

const load = async (path: string): Promise<LoadedProfile> => {
  const r = await loadProfile(path);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

const folder = async (spec: ProductFolderSpec = {}) => {
  const f = makeProductFolder(spec);
  return { ...f, loaded: await load(f.profilePath) };
};

const NOW = () => new Date('2026-11-25T12:00:00.000Z');

describe('lockProfile', () => {
  it('pins every firmware hash and records the profile hash on disk', async () => {
    const f = await folder();
    const r = await lockProfile(f.loaded, { env: {}, now: NOW });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.changed).toBe(true);
    const onDisk = JSON.parse(readFileSync(f.profilePath, 'utf8'));
    expect(onDisk.lock.lockedAt).toBe('2026-11-25T12:00:00.000Z');
    expect(onDisk.firmware.every((e: { sha256?: string }) => /^[0-9a-f]{64}$/.test(e.sha256 ?? ''))).toBe(
      true,
    );
    const reloaded = await load(f.profilePath);
    expect(onDisk.lock.profileHash).toBe(profileHash(reloaded.profile));
    expect(r.value.report.readiness.ready).toBe(true);
  });

  it('is idempotent on an intact locked profile', async () => {
    const f = await folder();
    const first = await lockProfile(f.loaded, { env: {}, now: NOW });
    if (!first.ok) throw new Error(first.error.message);
    const again = await lockProfile(await load(f.profilePath), { env: {}, now: () => new Date() });
    expect(again.ok && again.value.changed).toBe(false);
    expect(JSON.parse(readFileSync(f.profilePath, 'utf8')).lock.lockedAt).toBe('2026-11-25T12:00:00.000Z');
  });

  it('refuses to lock over tampering unless relock is asked for', async () => {
    const f = await folder();
    const first = await lockProfile(f.loaded, { env: {} });
    if (!first.ok) throw new Error(first.error.message);
    appendFileSync(join(f.dir, f.files.user as string), Buffer.from([1, 2, 3]));
    const refused = await lockProfile(await load(f.profilePath), { env: {} });
    expect(!refused.ok && refused.error.code).toBe('PROFILE_TAMPERED');
    // The appended bytes break the module's CRC, so even a relock must refuse: the checklist fails.
    const relock = await lockProfile(await load(f.profilePath), { env: {}, relock: true });
    expect(!relock.ok && relock.error.code).toBe('PROFILE_NOT_LOCKABLE');
  });

  it('relocks a reviewed change to the profile text', async () => {
    const f = await folder();
    const first = await lockProfile(f.loaded, { env: {} });
    if (!first.ok) throw new Error(first.error.message);
    const edited = { ...first.value.loaded, profile: { ...first.value.loaded.profile, groups: ['line-9'] } };
    const refused = await lockProfile(edited, { env: {} });
    expect(!refused.ok && refused.error.code).toBe('PROFILE_TAMPERED');
    const relocked = await lockProfile(edited, { env: {}, relock: true });
    expect(relocked.ok && relocked.value.report.readiness.ready).toBe(true);
  });

  it('refuses a profile whose checklist fails (wrong product in the firmware)', async () => {
    const f = await folder({ firmwareProductId: 999 });
    const r = await lockProfile(f.loaded, { env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('PROFILE_NOT_LOCKABLE');
    expect(r.error.details?.items).toEqual(['firmware-product']);
    expect(JSON.parse(readFileSync(f.profilePath, 'utf8')).lock).toBeUndefined();
  });

  it('refuses a profile with unanswered questions', async () => {
    const f = await folder({ profile: { customerAuth: undefined } });
    const r = await lockProfile(f.loaded, { env: {} });
    expect(!r.ok && r.error.details?.items).toEqual(['questions']);
  });

  it('locks an OTA-on-setup profile while the cloud check is still pending', async () => {
    const f = await folder({ mode: 'ota-on-setup', noFirmware: true });
    const r = await lockProfile(f.loaded, { env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const items = r.value.report.readiness.items;
    expect(items.find((i) => i.id === 'firmware-set')?.status).toBe('pending');
    expect(items.find((i) => i.id === 'locked')?.ok).toBe(true);
    expect(r.value.report.readiness.ready).toBe(false);
  });

  it('refuses when a pinned hash differs from the file, unless relock', async () => {
    const f = await folder();
    const pinned = {
      ...f.loaded,
      profile: {
        ...f.loaded.profile,
        firmware: f.loaded.profile.firmware.map((e) => ({ ...e, sha256: 'a'.repeat(64) })),
      },
    };
    const r = await lockProfile(pinned, { env: {} });
    expect(!r.ok && r.error.code).toBe('FIRMWARE_CHANGED');
    const relocked = await lockProfile(pinned, { env: {}, relock: true });
    expect(relocked.ok).toBe(true);
  });
});

import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../core/station/profile';
import { canonicalJson, checkIntegrity, profileHash } from '../../core/station/profile-integrity';
import { lockProfile } from '../../core/station/profile-lock';
import { makeProductFolder } from './profile-fixtures';

const shuffleKeys = (value: unknown, seed: number): unknown => {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const rotated = entries.map((_, i) => entries[(i + seed) % entries.length] as [string, unknown]);
    return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
  }
  return value;
};

const lockedFolder = async () => {
  const folder = makeProductFolder();
  const loaded = await loadProfile(folder.profilePath);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const locked = await lockProfile(loaded.value, { env: {} });
  if (!locked.ok) throw new Error(locked.error.message);
  return { folder, loaded: locked.value.loaded };
};

describe('canonicalJson', () => {
  it('is the same whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(20), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(canonicalJson(value));
      }),
    );
  });

  it('still tells different values apart', () => {
    expect(canonicalJson({ a: 1, b: [1, 2] })).not.toBe(canonicalJson({ a: 1, b: [2, 1] }));
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
  });
});

describe('profileHash', () => {
  it('ignores the lock block and key order, but not content', async () => {
    const { profilePath } = makeProductFolder();
    const loaded = await loadProfile(profilePath);
    if (!loaded.ok) throw new Error('fixture');
    const p = loaded.value.profile;
    const h = profileHash(p);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(
      profileHash({ ...p, lock: { profileHash: 'f'.repeat(64), lockedAt: '2026-01-01T00:00:00Z' } }),
    ).toBe(h);
    expect(profileHash(shuffleKeys(p, 3) as typeof p)).toBe(h);
    expect(profileHash({ ...p, groups: ['line-2'] })).not.toBe(h);
    expect(
      profileHash({ ...p, firmware: p.firmware.map((f) => ({ ...f, sha256: '0'.repeat(64) })) }),
    ).not.toBe(h);
  });
});

describe('checkIntegrity', () => {
  it('reports a freshly locked profile as intact', async () => {
    const { loaded } = await lockedFolder();
    const report = await checkIntegrity(loaded);
    expect(report.locked).toBe(true);
    expect(report.tampered).toBe(false);
    expect(report.files.every((f) => f.state === 'match')).toBe(true);
  });

  it('calls a firmware file changed on disk tampering (FIRMWARE_CHANGED)', async () => {
    const { folder, loaded } = await lockedFolder();
    appendFileSync(join(folder.dir, folder.files.user as string), Buffer.from([0]));
    const report = await checkIntegrity(loaded);
    expect(report.tampered).toBe(true);
    expect(report.problems.map((p) => p.code)).toEqual(['FIRMWARE_CHANGED']);
    expect(report.files.find((f) => f.path === folder.files.user)?.state).toBe('changed');
  });

  it('calls a missing firmware file of a locked profile tampering (FIRMWARE_MISSING)', async () => {
    const { folder, loaded } = await lockedFolder();
    rmSync(join(folder.dir, folder.files.system as string));
    const report = await checkIntegrity(loaded);
    expect(report.problems.map((p) => p.code)).toEqual(['FIRMWARE_MISSING']);
  });

  it('calls an edit of the locked profile text tampering (PROFILE_TAMPERED)', async () => {
    const { folder } = await lockedFolder();
    const json = JSON.parse(readFileSync(folder.profilePath, 'utf8'));
    json.development = true;
    writeFileSync(folder.profilePath, JSON.stringify(json));
    const reloaded = await loadProfile(folder.profilePath);
    if (!reloaded.ok) throw new Error('reload');
    const report = await checkIntegrity(reloaded.value);
    expect(report.tampered).toBe(true);
    expect(report.problems[0]?.code).toBe('PROFILE_TAMPERED');
  });

  it('does not call an unlocked profile tampered', async () => {
    const { profilePath, dir, files } = makeProductFolder();
    appendFileSync(join(dir, files.user as string), 'x');
    const loaded = await loadProfile(profilePath);
    if (!loaded.ok) throw new Error('fixture');
    const report = await checkIntegrity(loaded.value);
    expect(report.locked).toBe(false);
    expect(report.tampered).toBe(false);
    expect(report.files.every((f) => f.state === 'unpinned')).toBe(true);
  });
});

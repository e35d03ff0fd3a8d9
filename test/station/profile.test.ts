import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, parseProfile, saveProfile } from '../../core/station/profile';
import { makeProductFolder } from './profile-fixtures';

const tmp = () => mkdtempSync(join(tmpdir(), 'ls-profile-test-'));

describe('loadProfile', () => {
  it('loads a profile and fills defaults', async () => {
    const { profilePath, dir } = makeProductFolder();
    const r = await loadProfile(profilePath);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.dir).toBe(dir);
    expect(r.value.profile.product.id).toBe(12345);
    expect(r.value.profile.verification.readback).toBe(true);
    expect(r.value.profile.slots.count).toBe(1);
    expect(r.value.profile.retry.maxAttempts).toBe(2);
    expect(r.value.profile.station.reflashAlreadyProvisioned).toBe(false);
  });

  it('names a missing file PROFILE_NOT_FOUND', async () => {
    const r = await loadProfile(join(tmp(), 'nope.json'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('PROFILE_NOT_FOUND');
    expect(r.error.remedy).toMatch(/profile init/);
  });

  it('names broken JSON PROFILE_NOT_JSON', async () => {
    const file = join(tmp(), 'p.json');
    writeFileSync(file, '{ "schemaVersion": 1, }');
    const r = await loadProfile(file);
    expect(!r.ok && r.error.code).toBe('PROFILE_NOT_JSON');
  });

  it('explains schema problems in words, naming each field', async () => {
    const file = join(tmp(), 'p.json');
    writeFileSync(
      file,
      JSON.stringify({
        schemaVersion: 1,
        product: { id: -4, name: '' },
        platform: 'boron',
        provisioningMode: 'usb-stick',
        slots: { count: 30 },
      }),
    );
    const r = await loadProfile(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('PROFILE_INVALID');
    const problems = r.error.details?.problems as string[];
    expect(problems.some((p) => p.startsWith('product.id:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('product.name:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('provisioningMode:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('slots.count:'))).toBe(true);
    expect(r.error.message).toContain('product.id');
  });

  it('refuses another schema version with PROFILE_VERSION_UNSUPPORTED', () => {
    const r = parseProfile({ schemaVersion: 2, product: { id: 1, name: 'x' }, platform: 'boron' }, 'p.json');
    expect(!r.ok && r.error.code).toBe('PROFILE_VERSION_UNSUPPORTED');
    expect(!r.ok && r.error.remedy).toMatch(/Update linestation/);
  });

  it('refuses a token written where the variable name belongs', () => {
    const r = parseProfile(
      {
        schemaVersion: 1,
        product: { id: 1, name: 'x' },
        platform: 'boron',
        registration: { mode: 'cloud', tokenEnv: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2' },
      },
      'p.json',
    );
    expect(!r.ok && r.error.message).toMatch(/registration.tokenEnv: looks like an access token/);
  });

  it('refuses absolute firmware paths and unknown keys', () => {
    const r = parseProfile(
      {
        schemaVersion: 1,
        product: { id: 1, name: 'x' },
        platform: 'boron',
        firmware: [{ path: '/abs/app.bin' }],
        token: 'secret',
      },
      'p.json',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const problems = r.error.details?.problems as string[];
    expect(problems.some((p) => p.startsWith('firmware.0.path: must be relative'))).toBe(true);
    expect(problems.some((p) => p.includes('token'))).toBe(true);
  });

  it('refuses a slot label keyed by something that is not a port path', () => {
    const r = parseProfile(
      {
        schemaVersion: 1,
        product: { id: 1, name: 'x' },
        platform: 'boron',
        slots: { count: 2, labels: { A: 'x' } },
      },
      'p.json',
    );
    expect(!r.ok && r.error.code).toBe('PROFILE_INVALID');
  });
});

describe('saveProfile', () => {
  it('round-trips through load with every default written out', async () => {
    const file = join(tmp(), 'p.json');
    const saved = await saveProfile(file, {
      schemaVersion: 1,
      product: { id: 7, name: 'Seven' },
      platform: 'p2',
      slots: { count: 4, labels: { '1-2.1': 'A1' } },
    });
    expect(saved.ok).toBe(true);
    const text = JSON.parse(readFileSync(file, 'utf8'));
    expect(text.verification).toEqual({ readback: true });
    expect(text.slots.labels).toEqual({ '1-2.1': 'A1' });
    const loaded = await loadProfile(file);
    expect(loaded.ok && loaded.value.profile).toEqual(saved.ok && saved.value.profile);
  });

  it('refuses to write an invalid profile', async () => {
    const file = join(tmp(), 'p.json');
    const r = await saveProfile(file, { schemaVersion: 1, product: { id: 0, name: 'x' }, platform: 'boron' });
    expect(!r.ok && r.error.code).toBe('PROFILE_INVALID');
  });

  it('names an unwritable place PROFILE_WRITE_FAILED', async () => {
    const r = await saveProfile(join(tmp(), 'no', 'such', 'dir', 'p.json'), {
      schemaVersion: 1,
      product: { id: 1, name: 'x' },
      platform: 'boron',
    });
    expect(!r.ok && r.error.code).toBe('PROFILE_WRITE_FAILED');
  });
});

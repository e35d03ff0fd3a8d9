import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, parseProfile, saveProfile } from '../../core/station/profile';
import { profileHash } from '../../core/station/profile-integrity';
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

describe('fields added to schema version 1', () => {
  // A version 1 profile as written before deviceProtection and station.skipWhenCurrent existed.
  const v1 = {
    schemaVersion: 1,
    organization: 'Acme Sensors',
    product: { id: 12345, name: 'Field Tracker' },
    platform: 'boron',
    provisioningMode: 'flash-on-line',
    customerAuth: 'simple',
    privateBeta: false,
    firmware: [{ path: 'app.bin', sha256: 'a'.repeat(64) }],
    registration: { mode: 'offline' },
    development: false,
  };
  const parse = (value: unknown) => {
    const r = parseProfile(value, 'p.json');
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };

  it('keeps an older profile valid, reading both as false, with the hash it was locked with', () => {
    const p = parse(v1);
    expect(p.deviceProtection).toBe(false);
    expect(p.station.skipWhenCurrent).toBe(false);
    // Computed before the fields existed: a profile locked then must not turn TAMPERED now.
    expect(profileHash(p)).toBe('f9eb04268a11b003470f9ddf8e1320df93ed07f03613b32156dac2acfd44c4f9');
    expect(profileHash(parse({ ...v1, deviceProtection: false, station: { skipWhenCurrent: false } }))).toBe(
      profileHash(p),
    );
  });

  it('reads deviceProtection and station.skipWhenCurrent, and either one changes the hash', () => {
    const base = profileHash(parse(v1));
    const protectedProduct = parse({ ...v1, deviceProtection: true });
    expect(protectedProduct.deviceProtection).toBe(true);
    expect(profileHash(protectedProduct)).not.toBe(base);
    const skipping = parse({ ...v1, station: { skipWhenCurrent: true } });
    expect(skipping.station).toEqual({ reflashAlreadyProvisioned: false, skipWhenCurrent: true });
    expect(profileHash(skipping)).not.toBe(base);
    expect(profileHash(skipping)).not.toBe(profileHash(protectedProduct));
  });

  it('reads identity: absent or asking for nothing keeps the hash, each requirement changes it', () => {
    const base = profileHash(parse(v1));
    expect(parse(v1).identity).toBeUndefined();
    expect(profileHash(parse({ ...v1, identity: {} }))).toBe(base);
    expect(profileHash(parse({ ...v1, identity: { requireSerial: false, requireIccid: false } }))).toBe(base);
    const serial = parse({ ...v1, identity: { requireSerial: true } });
    expect(serial.identity).toEqual({ requireSerial: true });
    expect(profileHash(serial)).not.toBe(base);
    const iccid = profileHash(parse({ ...v1, identity: { requireIccid: true } }));
    expect(iccid).not.toBe(base);
    expect(iccid).not.toBe(profileHash(serial));
    const r = parseProfile({ ...v1, identity: { requireSerial: 'yes', requireImei: true } }, 'p.json');
    expect(!r.ok && r.error.details?.problems).toEqual([
      expect.stringMatching(/^identity\.requireSerial:/),
      expect.stringMatching(/^identity:.*requireImei/),
    ]);
  });

  it('refuses a value that is not a boolean, naming the field', () => {
    const r = parseProfile({ ...v1, deviceProtection: 'yes', station: { skipWhenCurrent: 1 } }, 'p.json');
    expect(!r.ok && r.error.details?.problems).toEqual([
      expect.stringMatching(/^deviceProtection:/),
      expect.stringMatching(/^station\.skipWhenCurrent:/),
    ]);
  });

  it('writes them out with the other defaults', async () => {
    const file = join(tmp(), 'p.json');
    const r = await saveProfile(file, v1 as Parameters<typeof saveProfile>[1]);
    expect(r.ok).toBe(true);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.deviceProtection).toBe(false);
    expect(written.station.skipWhenCurrent).toBe(false);
    const loaded = await loadProfile(file);
    expect(loaded.ok && profileHash(loaded.value.profile)).toBe(profileHash(parse(v1)));
  });
});

import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../core/station/profile';
import { profileHash } from '../../core/station/profile-integrity';

// registration.setup: the cloud-setup options (docs/profile.md). Optional, without defaults in the
// file, so profiles written before them keep their hash.

const base = {
  schemaVersion: 1,
  organization: 'Acme Sensors',
  product: { id: 12345, name: 'Field Tracker' },
  platform: 'boron',
  provisioningMode: 'flash-on-line',
  customerAuth: 'simple',
  privateBeta: false,
  firmware: [{ path: 'app.bin', sha256: 'a'.repeat(64) }],
  registration: { mode: 'cloud', tokenEnv: 'WIDGET_TOKEN' },
  development: false,
  groups: ['line-1'],
};

const parse = (value: unknown) => {
  const r = parseProfile(value, 'p.json');
  if (!r.ok) throw new Error(JSON.stringify(r.error.details));
  return r.value;
};

describe('registration.setup', () => {
  it('a profile without it keeps the hash it had before the options existed', () => {
    // Computed with the schema before registration.setup was added.
    expect(profileHash(parse(base))).toBe('7fd9502f4a69a6a4c3559671a9b6dd7dd21b4d1fde1b78e7f9417ad52569697b');
    expect(parse(base).registration).toEqual({
      mode: 'cloud',
      apiBaseUrl: 'https://api.particle.io',
      tokenEnv: 'WIDGET_TOKEN',
    });
  });

  it('reads every option, in cloud and offline mode, and any of them changes the hash', () => {
    const setup = {
      importSims: false,
      name: '{product}-{serial}',
      notes: 'lot {lot}, station {station}',
      dateGroup: true,
      lockFirmwareVersion: true,
    };
    const p = parse({ ...base, registration: { ...base.registration, setup } });
    expect(p.registration?.setup).toEqual(setup);
    expect(profileHash(p)).not.toBe(profileHash(parse(base)));
    const offline = parse({ ...base, registration: { mode: 'offline', setup: { lockFirmwareVersion: 12 } } });
    expect(offline.registration?.setup).toEqual({ lockFirmwareVersion: 12 });
    expect(
      profileHash(parse({ ...base, registration: { ...base.registration, setup: { dateGroup: true } } })),
    ).not.toBe(profileHash(parse(base)));
  });

  it('refuses unknown placeholders, unknown keys and a firmware version that is not a positive integer', () => {
    const r = parseProfile(
      {
        ...base,
        registration: {
          ...base.registration,
          setup: { name: '{serial}-{colour}', lockFirmwareVersion: 0, names: 'x' },
        },
      },
      'p.json',
    );
    expect(r.ok).toBe(false);
    const problems = (r.ok ? [] : (r.error.details?.problems ?? [])) as string[];
    expect(problems.join('\n')).toMatch(/registration\.setup/);
    expect(problems.join('\n')).toMatch(/placeholders \{serial\}/);
  });
});

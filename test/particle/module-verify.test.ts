import { describe, expect, it } from 'vitest';
import { failedCheckNames, findModule, verifyInstalledModule } from '../../core/particle/module-verify';
import type { DeviceModule } from '../../core/particle/requests';

const SHA = 'ab'.repeat(32);
const mod = (over: Partial<DeviceModule>): DeviceModule => ({
  function: 'bootloader',
  index: 0,
  version: 1300,
  size: 40_000,
  valid: true,
  failedFlags: 0,
  hash: SHA,
  dependencies: [],
  ...over,
});
const boot = { function: 'bootloader' as const, index: 0, version: 1300, sha256: SHA };

describe('findModule', () => {
  it('matches function and index, else the only module of that function', () => {
    const list = [mod({ index: 0 }), mod({ function: 'user', index: 2, version: 6 })];
    expect(findModule(list, { function: 'bootloader', index: 0 })?.version).toBe(1300);
    expect(findModule(list, { function: 'user', index: 1 })?.index).toBe(2);
    const two = [mod({ function: 'system', index: 1 }), mod({ function: 'system', index: 2 })];
    expect(findModule(two, { function: 'system', index: 3 })).toBeUndefined();
  });
});

describe('verifyInstalledModule', () => {
  it('accepts the module at its new version, valid, with the same SHA-256', () => {
    const r = verifyInstalledModule([mod({})], boot, { previousVersion: 1200 });
    expect(r.ok && r.value.hashCheck).toBe('matched');
  });

  it('calls a device still at the old version DEVICE_UPDATE_NOT_APPLIED, never success', () => {
    const r = verifyInstalledModule([mod({ version: 1200 })], boot, { previousVersion: 1200 });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
    expect(r.ok ? '' : r.error.message).toContain('still at version 1200');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ foundVersion: 1200, expectedVersion: 1300 });
  });

  it('calls another version, or no such module, DEVICE_UPDATE_NOT_APPLIED too', () => {
    const other = verifyInstalledModule([mod({ version: 1400 })], boot, { previousVersion: 1200 });
    expect(other.ok ? '' : other.error.message).toContain('at version 1400, not the 1300');
    const none = verifyInstalledModule([mod({ function: 'system', index: 1 })], boot);
    expect(none.ok ? '' : none.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
  });

  it('names the failed checks of an invalid module', () => {
    const r = verifyInstalledModule([mod({ valid: false, failedFlags: 0x04 | 0x10 })], boot);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_MODULE_INVALID');
    expect(r.ok ? undefined : r.error.details?.failedChecks).toEqual(['dependencies', 'platform']);
    expect(failedCheckNames(0x02 | 0x08)).toEqual(['integrity', 'address range']);
  });

  it('names a different SHA-256 at the right version', () => {
    const r = verifyInstalledModule([mod({ hash: 'cd'.repeat(32) })], boot);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_HASH_MISMATCH');
    expect(r.ok ? undefined : r.error.details).toMatchObject({
      expectedSha256: SHA,
      deviceSha256: 'cd'.repeat(32),
    });
  });

  it('says when there is no hash to compare, instead of pretending it matched', () => {
    const noHash = verifyInstalledModule([mod({ hash: undefined })], boot);
    expect(noHash.ok && noHash.value.hashCheck).toBe('not-reported');
    const zeros = verifyInstalledModule([mod({ hash: '00'.repeat(32) })], boot);
    expect(zeros.ok && zeros.value.hashCheck).toBe('not-reported');
    const blankFile = verifyInstalledModule([mod({})], { ...boot, sha256: 'ff'.repeat(32) });
    expect(blankFile.ok && blankFile.value.hashCheck).toBe('not-comparable');
  });

  it('does not compare NCP hashes: Device OS reports the NCP version there, not a hash', () => {
    const ncpHash = '0500'.repeat(16);
    const r = verifyInstalledModule([mod({ function: 'ncp', index: 0, version: 5, hash: ncpHash })], {
      function: 'ncp',
      index: 0,
      version: 5,
      sha256: SHA,
    });
    expect(r.ok && r.value.hashCheck).toBe('not-comparable');
  });
});

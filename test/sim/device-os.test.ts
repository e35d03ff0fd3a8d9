import { describe, expect, it } from 'vitest';
import { platformByName } from '../../core/platforms';
import { deviceOsFeatures, versionAtLeast } from '../../core/sim/device-os';

const platform = (name: string) => {
  const p = platformByName(name);
  if (!p) throw new Error(name);
  return p;
};

describe('Device OS releases', () => {
  it('versionAtLeast compares major.minor.patch and ignores pre-release tags', () => {
    expect(versionAtLeast('6.1.2', 6, 1, 2)).toBe(true);
    expect(versionAtLeast('6.1.1', 6, 1, 2)).toBe(false);
    expect(versionAtLeast('6.2.0-rc.1', 6, 2)).toBe(true);
    expect(versionAtLeast('10.0.0', 6, 2)).toBe(true);
    expect(versionAtLeast('3.3.1', 4, 0)).toBe(false);
  });

  it('names the release each behaviour appeared in', () => {
    expect(deviceOsFeatures('3.3.1', platform('boron'))).toMatchObject({
      setupDoneFlag: true,
      setupDoneNoOp: false,
    });
    expect(deviceOsFeatures('3.3.1', platform('photon')).setupDoneFlag).toBe(false);
    expect(deviceOsFeatures('5.6.0', platform('p2'))).toMatchObject({
      newModuleInfo: true,
      protection: false,
    });
    expect(deviceOsFeatures('6.1.1', platform('p2'))).toMatchObject({
      serviceMode: true,
      dfuDeviceState: false,
    });
    expect(deviceOsFeatures('6.2.1', platform('msom'))).toMatchObject({ dfuDeviceState: true, assets: true });
    // Gen 2 never ran 6.x: a photon configured so still has no Device Protection.
    expect(deviceOsFeatures('6.2.1', platform('photon'))).toMatchObject({ protection: false, assets: false });
  });
});

import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import type { InspectedFile, ModuleSpec, ProductTarget } from '../../core/firmware/types';
import { flashPlan, LEGACY_USER_PART_DEPENDENCY, validateSet } from '../../core/firmware/validate-set';

const file = (name: string, spec: ModuleSpec): InspectedFile => inspectBytes(name, buildModule(spec));
const P2: ProductTarget = { platformId: 32, productId: 77, mode: 'flash-on-line' };
const BORON: ProductTarget = { platformId: 13, productId: 77, mode: 'flash-on-line' };

describe('validateSet', () => {
  it('orders the plan bootloader, system parts by index, user part, whatever the input order', () => {
    const files = [
      file('app.bin', { platformId: 32, function: 'user', product: { id: 77, version: 1 } }),
      file('sys2.bin', {
        platformId: 32,
        function: 'system',
        index: 2,
        startAddress: 0x08100000,
        dependencies: [],
      }),
      file('sys1.bin', { platformId: 32, function: 'system', index: 1 }),
      file('boot.bin', { platformId: 32, function: 'bootloader', version: 2400 }),
    ];
    const { errors, plan } = validateSet(files, P2);
    expect(errors).toEqual([]);
    expect(plan.map((i) => i.label)).toEqual(['boot.bin', 'sys1.bin', 'sys2.bin', 'app.bin']);
    expect(plan[3]?.address).toBe(0x08600000 - (plan[3]?.data.length ?? 0));
  });

  it('adds the Gen 3 erase of the pre-3.1 user part before a user part built for 3.1.3+', () => {
    const app = file('app.bin', {
      platformId: 13,
      function: 'user',
      product: { id: 77, version: 1 },
      dependencies: [{ function: 'system', index: 1, version: LEGACY_USER_PART_DEPENDENCY }],
    });
    const { errors, plan } = validateSet([app], { ...BORON, deviceOsVersion: 5600 });
    expect(errors).toEqual([]);
    expect(plan).toHaveLength(2);
    expect(plan[0]).toMatchObject({ address: 0xd4000, alt: 0 });
    expect(plan[0]?.data).toEqual(new Uint8Array(4096).fill(0xff));
    expect(plan[1]?.label).toBe('app.bin');
  });

  it('does not add it for older user parts, on other generations, or for a user part at 0xD4000 itself', () => {
    const old = file('old.bin', {
      platformId: 13,
      function: 'user',
      product: { id: 77, version: 1 },
      dependencies: [{ function: 'system', index: 1, version: LEGACY_USER_PART_DEPENDENCY - 1 }],
    });
    expect(flashPlan(old.images, BORON)).toHaveLength(1);
    const legacy = file('legacy.bin', { platformId: 13, function: 'user', startAddress: 0xd4000 });
    expect(flashPlan(legacy.images, BORON)).toHaveLength(1);
    const p2 = file('p2.bin', { platformId: 32, function: 'user' });
    expect(flashPlan(p2.images, P2)).toHaveLength(1);
  });

  it('satisfies a system dependency from the set or from the stated Device OS version, and says which is missing', () => {
    const app = file('app.bin', {
      platformId: 13,
      function: 'user',
      product: { id: 77, version: 1 },
      dependencies: [{ function: 'system', index: 1, version: 5600 }],
    });
    const sys = (version: number) =>
      file(`sys-${version}.bin`, { platformId: 13, function: 'system', version });
    expect(validateSet([app], BORON).errors.map((e) => e.message)).toEqual([
      'app.bin needs system part 1 v5600 or later; the set does not include it and no Device OS version is stated for the devices.',
    ]);
    expect(validateSet([app], { ...BORON, deviceOsVersion: 5500 }).errors[0]?.code).toBe(
      'FIRMWARE_DEPENDENCY_UNMET',
    );
    expect(validateSet([app], { ...BORON, deviceOsVersion: 5600 }).errors).toEqual([]);
    expect(validateSet([app, sys(5600)], BORON).errors).toEqual([]);
    const older = validateSet([app, sys(5500)], { ...BORON, deviceOsVersion: 6000 }).errors;
    expect(older.map((e) => e.message)).toEqual([
      'app.bin needs system part 1 v5600 or later, but the set holds v5500.',
    ]);
  });

  it('refuses two system parts with the same index but accepts parts 1 and 2', () => {
    const a = file('a.bin', { platformId: 6, function: 'system', index: 1 });
    const b = file('b.bin', { platformId: 6, function: 'system', index: 1, seed: 3 });
    const c = file('c.bin', { platformId: 6, function: 'system', index: 2 });
    const app = file('app.bin', { platformId: 6, function: 'user', product: { id: 77, version: 1 } });
    const photon: ProductTarget = { platformId: 6, productId: 77, mode: 'flash-on-line' };
    expect(validateSet([a, b, app], photon).errors.map((e) => e.code)).toEqual(['FIRMWARE_DUPLICATE_MODULE']);
    expect(validateSet([a, c, app], photon).errors).toEqual([]);
  });

  it('writes nothing in OTA-on-setup mode but still checks platform and product', () => {
    const wrong = file('app.bin', { platformId: 12, function: 'user', product: { id: 77, version: 1 } });
    const r = validateSet([wrong], { ...BORON, mode: 'ota-on-setup' });
    expect(r.plan).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(['FIRMWARE_WRONG_PLATFORM']);
    expect(validateSet([], { ...BORON, mode: 'ota-on-setup' }).errors).toEqual([]);
  });

  it('plans raw images after the modules, in the order given', () => {
    const app = file('app.bin', { platformId: 32, function: 'user', product: { id: 77, version: 1 } });
    const raw1 = inspectBytes('r1.bin', patternBytes(64), { rawAddress: 0x08100000 });
    const raw2 = inspectBytes('r2.bin', patternBytes(64), { rawAddress: 0x08080000 });
    const { errors, plan } = validateSet([raw1, app, raw2], { ...P2, deviceOsVersion: 5600 });
    expect(errors).toEqual([]);
    expect(plan.map((i) => i.label)).toEqual(['app.bin', 'r1.bin@0x08100000', 'r2.bin@0x08080000']);
  });
});

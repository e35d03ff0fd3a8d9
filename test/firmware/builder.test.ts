import { describe, expect, it } from 'vitest';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { sha256Hex } from '../../core/firmware/bytes';
import { inspectBytes } from '../../core/firmware/inspect';
import { functionCode, parseModule } from '../../core/firmware/module-parser';
import type { ModuleFunctionName, ModuleSpec } from '../../core/firmware/types';
import { PLATFORMS } from '../../core/platforms';
import { oracleParse } from './oracle';

const FUNCTIONS: ModuleFunctionName[] = ['bootloader', 'system', 'user', 'mono', 'radio', 'ncp', 'asset'];

/** A spread of generated modules: every platform and function, with and without product data and extensions. */
const sampleSpecs = (): ModuleSpec[] => {
  const specs: ModuleSpec[] = [];
  let seed = 1;
  for (const p of PLATFORMS)
    for (const fn of FUNCTIONS) {
      seed++;
      specs.push({ platformId: p.id, function: fn, seed, bodySize: 64 + seed * 7 });
      specs.push({ platformId: p.id, function: fn, seed, product: null, bodySize: 100 });
      specs.push({
        platformId: p.id,
        function: fn,
        seed,
        product: { id: 4000 + seed, version: seed },
        suffixExtensions: [{ type: 0x11, payload: new TextEncoder().encode(`name-${seed}`) }],
        dependencies: [
          { function: 'system', index: 1, version: 3000 + seed },
          { function: 'bootloader', index: 0, version: seed },
        ],
      });
    }
  return specs;
};

describe('buildModule', () => {
  it('is deterministic for a seed', () => {
    const spec: ModuleSpec = { platformId: 13, function: 'user', seed: 7 };
    expect(buildModule(spec)).toEqual(buildModule(spec));
    expect(patternBytes(16, 1)).not.toEqual(patternBytes(16, 2));
  });

  it('builds modules our parser reads back as specified', () => {
    const bytes = buildModule({
      platformId: 32,
      function: 'user',
      version: 6,
      product: { id: 1234, version: 7 },
      dependencies: [{ function: 'system', index: 1, version: 5600 }],
      bodySize: 1000,
    });
    const r = parseModule('app.bin', bytes);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.module).toMatchObject({
      prefixOffset: 0,
      platformId: 32,
      platform: 'p2',
      function: 'user',
      index: 1,
      version: 6,
      productId: 1234,
      productVersion: 7,
      suffixSize: 40,
      endAddress: 0x08600000 - 4,
      crc: { ok: true },
      hash: { ok: true },
    });
    expect(r.module.startAddress).toBe(0x08600000 - bytes.length);
    expect(inspectBytes('app.bin', bytes).error).toBeUndefined();
  });

  it('puts Gen 2 and Gen 3 system prefixes after the vector table', () => {
    const gen2 = parseModule('s.bin', buildModule({ platformId: 6, function: 'system' }));
    const gen3 = parseModule('s.bin', buildModule({ platformId: 13, function: 'system' }));
    expect(gen2.ok && gen2.module.prefixOffset).toBe(0x184);
    expect(gen3.ok && gen3.module.prefixOffset).toBe(0x200);
  });

  it('agrees with Particle’s parser (binary-version-reader) field by field on generated modules', async () => {
    const specs = sampleSpecs();
    expect(specs.length).toBeGreaterThan(200);
    for (const spec of specs) {
      const bytes = buildModule(spec);
      const ours = parseModule('gen.bin', bytes);
      if (!ours.ok) throw new Error(`${JSON.stringify(spec)}: ${ours.error.message}`);
      const m = ours.module;
      const o = await oracleParse(bytes);
      const where = `platform ${spec.platformId} ${String(spec.function)}`;
      expect(m.prefixOffset, where).toBe(o.prefixInfo.prefixOffset);
      expect(m.startAddress.toString(16), where).toBe(o.prefixInfo.moduleStartAddy);
      expect(m.endAddress.toString(16), where).toBe(o.prefixInfo.moduleEndAddy);
      expect(m.flags, where).toBe(o.prefixInfo.moduleFlags);
      expect(m.version, where).toBe(o.prefixInfo.moduleVersion);
      expect(m.platformId, where).toBe(o.prefixInfo.platformID);
      expect(m.index, where).toBe(o.prefixInfo.moduleIndex);
      expect(functionCode(m.function), where).toBe(o.prefixInfo.moduleFunction);
      expect(
        m.dependencies.map((d) => functionCode(d.function)),
        where,
      ).toEqual([o.prefixInfo.depModuleFunction, o.prefixInfo.dep2ModuleFunction]);
      expect(
        m.dependencies.map((d) => d.version),
        where,
      ).toEqual([o.prefixInfo.depModuleVersion, o.prefixInfo.dep2ModuleVersion]);
      expect(m.productId, where).toBe(o.suffixInfo.productId);
      expect(m.productVersion, where).toBe(o.suffixInfo.productVersion);
      expect(m.suffixSize, where).toBe(o.suffixInfo.suffixSize);
      expect(m.fwUniqueId, where).toBe(o.suffixInfo.fwUniqueId);
      expect(m.crc, where).toEqual({ ok: o.crc.ok, stored: o.crc.storedCrc, actual: o.crc.actualCrc });
      expect(m.crc.ok && m.hash.ok, where).toBe(true);
    }
  });

  it('writes a broken CRC or SHA only when asked', () => {
    const crc = parseModule('x', buildModule({ platformId: 13, function: 'user', corrupt: { crc: true } }));
    const sha = parseModule('x', buildModule({ platformId: 13, function: 'user', corrupt: { sha: true } }));
    expect(crc.ok && [crc.module.crc.ok, crc.module.hash.ok]).toEqual([false, true]);
    expect(sha.ok && [sha.module.crc.ok, sha.module.hash.ok]).toEqual([true, false]);
  });

  it('writes a lying end address or suffix size, sealed with a correct SHA-256 and CRC', async () => {
    const b = buildModule({
      platformId: 13,
      function: 'user',
      lie: { endAddress: 0xb4000, suffixSize: 0xffff },
    });
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(view.getUint32(4, true)).toBe(0xb4000);
    expect(view.getUint16(b.length - 6, true)).toBe(0xffff);
    const o = await oracleParse(b);
    expect(o.crc.ok).toBe(true);
    expect(o.suffixInfo.fwUniqueId).toBe(sha256Hex(b.subarray(0, b.length - 38)));
  });
});

describe('buildDfuse', () => {
  it('builds a file whose suffix dfu-util accepts (complemented CRC, little-endian)', () => {
    const data = patternBytes(300, 3);
    const file = buildDfuse({
      targets: [{ alt: 0, name: 'Internal Flash', elements: [{ address: 0x080a0000, data }] }],
      idVendor: 0x2b04,
      idProduct: 0xd006,
    });
    const f = inspectBytes('a.dfu', file);
    expect(f.error).toBeUndefined();
    expect(f.dfuse?.suffix).toEqual({
      bcdDevice: 0xffff,
      idProduct: 0xd006,
      idVendor: 0x2b04,
      bcdDFU: 0x011a,
      length: 16,
    });
    expect(f.images).toHaveLength(1);
    expect(f.images[0]?.data).toEqual(data);
  });
});

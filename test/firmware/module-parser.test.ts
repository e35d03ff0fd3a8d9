import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { sha256Hex } from '../../core/firmware/bytes';
import { crc32 } from '../../core/firmware/crc32';
import { inspectBytes } from '../../core/firmware/inspect';
import { flagNames, functionCode, functionName, parseModule } from '../../core/firmware/module-parser';
import type { ModuleSpec } from '../../core/firmware/types';
import { oracleParse } from './oracle';
import { haveParticleBinaries, particleBinariesDir, skipReason } from './shared-fixtures';

describe('parseModule', () => {
  it('keeps unknown function codes as numbers, both ways', () => {
    expect(functionName(5)).toBe('user');
    expect(functionName(129)).toBe(129);
    expect(functionCode('radio')).toBe(8);
    expect(functionCode(129)).toBe(129);
  });

  it("reads the SECURITY_MODE and HASH records as Particle's parser does (first of each type)", () => {
    const hash = patternBytes(32, 5);
    const m = buildModule({
      platformId: 32,
      function: 'asset',
      suffixExtensions: [
        { type: 0x0010, payload: new Uint8Array([0, 32, ...hash]) },
        { type: 0x0013, payload: new Uint8Array([1, 0xaa]) },
        { type: 0x0013, payload: new Uint8Array([0]) },
      ],
    });
    const r = parseModule('asset.bin', m);
    expect(r.ok && r.module).toMatchObject({
      securityMode: 1,
      contentHash: Buffer.from(hash).toString('hex'),
    });
    const plain = parseModule('plain.bin', buildModule({ platformId: 32, function: 'user' }));
    expect(plain.ok && [plain.module.securityMode, plain.module.contentHash]).toEqual([undefined, undefined]);
  });

  it('names flags', () => {
    expect(flagNames(0x19)).toEqual(['DROP_MODULE_INFO', 'ENCRYPTED', 'PREFIX_EXTENSIONS']);
    expect(flagNames(0)).toEqual([]);
  });

  it('says how short a truncated module is', () => {
    const m = buildModule({ platformId: 13, function: 'user', bodySize: 1000 });
    const r = parseModule('cut.bin', m.subarray(0, 500));
    expect(r.ok ? 'parsed' : r.error).toMatchObject({
      code: 'FIRMWARE_TRUNCATED',
      details: { size: 500, expectedSize: m.length },
    });
    const tiny = parseModule('tiny.bin', m.subarray(0, 40));
    expect(tiny.ok ? 'parsed' : tiny.error.message).toBe(
      'tiny.bin is 40 bytes, too short for a module (a prefix, suffix and CRC take 64).',
    );
  });

  it('checks the SHA-256 over everything but the hash, the suffix size and the CRC', () => {
    const m = buildModule({ platformId: 13, function: 'user' });
    const ok = parseModule('m.bin', m);
    expect(ok.ok && ok.module.hash.ok).toBe(true);
    const edited = new Uint8Array(m);
    edited[100] = (edited[100] as number) ^ 1;
    const bad = parseModule('m.bin', edited);
    expect(bad.ok && [bad.module.hash.ok, bad.module.crc.ok]).toEqual([false, false]);
  });

  it('refuses bytes with no prefix', () => {
    const r = parseModule('noise.bin', patternBytes(4096, 77));
    expect(r.ok ? 'parsed' : r.error.code).toBe('FIRMWARE_NOT_A_MODULE');
  });
});

/*
 * Modules that lie about themselves: a prefix or suffix field that contradicts the file, sealed
 * with a correct SHA-256 and CRC so nothing else gives them away.
 */

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A body whose first bytes look like a module prefix (a Photon asset) to a scan. */
const lookAlikeBody = (): Uint8Array => {
  const body = patternBytes(512, 3);
  const v = view(body);
  v.setUint32(8, 0x1000, true);
  v.setUint32(12, 0x1100, true);
  body.fill(0, 16, 18);
  v.setUint16(18, 1, true);
  v.setUint16(20, 6, true);
  body[22] = 9;
  body.fill(0, 23, 32);
  return body;
};

/** The same module with its prefix start and end addresses swapped. */
const swapped = (spec: ModuleSpec): Uint8Array => {
  const good = buildModule(spec);
  const p = parseModule('good.bin', good);
  if (!p.ok) throw new Error(p.error.message);
  const { startAddress, endAddress } = p.module;
  return buildModule({ ...spec, startAddress: endAddress, lie: { endAddress: startAddress } });
};

describe('a suffix size field that lies', () => {
  const app: ModuleSpec = { platformId: 13, function: 'user', product: { id: 4242, version: 3 } };

  it('refuses a suffix larger than the file, though Particle’s parser accepts it, and still shows what that parser reads', async () => {
    const b = buildModule({ ...app, lie: { suffixSize: 0xffff } });
    const particle = await oracleParse(b);
    expect(particle.suffixInfo).toMatchObject({ suffixSize: 0xffff, productId: 4242 });
    const f = inspectBytes('big-suffix.bin', b);
    expect(f.error).toMatchObject({
      code: 'FIRMWARE_BAD_SUFFIX',
      message: expect.stringMatching(/suffix size field says 65535 bytes/),
    });
    expect(f.error?.message).toMatch(/Particle's parser would read product ID 4242, version 3/);
    expect(f.module?.productId).toBe(4242);
    expect(f.module?.suffixSize).toBe(0xffff);
  });

  it('refuses a suffix that would reach back into the prefix', () => {
    const b = buildModule({ platformId: 13, function: 'system', bodySize: 400 });
    const n = b.length;
    const into = buildModule({
      platformId: 13,
      function: 'system',
      bodySize: 400,
      lie: { suffixSize: n - 4 - 0x210 },
    });
    expect(inspectBytes('into-prefix.bin', into).error?.code).toBe('FIRMWARE_BAD_SUFFIX');
    const justAfter = buildModule({
      platformId: 13,
      function: 'system',
      bodySize: 400,
      lie: { suffixSize: n - 4 - 0x218 },
    });
    expect(inspectBytes('after-prefix.bin', justAfter).error?.code).not.toBe('FIRMWARE_BAD_SUFFIX');
  });

  it('refuses a suffix smaller than the fixed suffix, or between the 36- and 40-byte forms', () => {
    for (const suffixSize of [0, 4, 35, 37, 39]) {
      const f = inspectBytes(
        'small.bin',
        buildModule({ platformId: 13, function: 'system', lie: { suffixSize } }),
      );
      expect(f.error?.code, `suffix size ${suffixSize}`).toBe('FIRMWARE_BAD_SUFFIX');
    }
    for (const suffixSize of [36, 40])
      expect(
        inspectBytes('ok.bin', buildModule({ platformId: 13, function: 'system', lie: { suffixSize } }))
          .error,
      ).toBeUndefined();
  });
});

describe('a prefix whose addresses lie', () => {
  it('names the damaged prefix at its known offset instead of trusting a look-alike in the body', () => {
    const spec: ModuleSpec = {
      platformId: 13,
      function: 'user',
      body: lookAlikeBody(),
      product: { id: 4242, version: 1 },
    };
    expect(inspectBytes('good.bin', buildModule(spec)).error).toBeUndefined();
    const f = inspectBytes('swapped.bin', swapped(spec));
    expect(f.error).toMatchObject({
      code: 'FIRMWARE_BAD_PREFIX',
      details: { prefixOffset: 0, field: 'startAddress/endAddress' },
    });
    expect(f.error?.message).toMatch(/prefix at offset 0x0 \(Boron user part\)/);
    expect(f.module).toBeUndefined();
  });

  it('says so for a Gen 3 system part whose prefix sits after the vector table', () => {
    const f = inspectBytes('sys.bin', swapped({ platformId: 13, function: 'system', bodySize: 4000 }));
    expect(f.error).toMatchObject({ code: 'FIRMWARE_BAD_PREFIX', details: { prefixOffset: 0x200 } });
  });

  it('tells an end address that lies from a file that is cut short', () => {
    const spec: ModuleSpec = { platformId: 13, function: 'system', bodySize: 4000 };
    const b = buildModule(spec);
    const end = view(b).getUint32(0x204, true);
    for (const endAddress of [0xffffffff, end + 0x1000, end - 0x1000]) {
      const f = inspectBytes('lying-end.bin', buildModule({ ...spec, lie: { endAddress } }));
      expect(f.error, `end address 0x${endAddress.toString(16)}`).toMatchObject({
        code: 'FIRMWARE_BAD_PREFIX',
        details: { prefixOffset: 0x200, field: 'endAddress', fieldOffset: 0x204 },
      });
    }
    // A file really cut short still says so: its last bytes are no CRC of the rest.
    expect(inspectBytes('cut.bin', b.subarray(0, 3000)).error?.code).toBe('FIRMWARE_TRUNCATED');
  });

  it('accepts a scanned prefix only when platform, function and addresses fit together', () => {
    const at = (spec: Omit<ModuleSpec, 'prefixOffset'>) =>
      inspectBytes('scanned.bin', buildModule({ ...spec, prefixOffset: 0x40 }));
    expect(at({ platformId: 13, function: 'user' }).error).toBeUndefined();
    expect(at({ platformId: 13, function: 'user' }).module?.prefixOffset).toBe(0x40);
    for (const spec of [
      { platformId: 99, function: 'user', startAddress: 0x1000 },
      { platformId: 13, function: 'system', startAddress: 0x200000 },
      { platformId: 13, function: 42 },
    ] as const) {
      const f = at(spec);
      expect(f.error?.code, JSON.stringify(spec)).toBe('FIRMWARE_NOT_A_MODULE');
      expect(f.error?.message).toMatch(/offset 0x40/);
    }
  });
});

describe.skipIf(!haveParticleBinaries)(
  `real binaries whose prefix addresses are swapped (${haveParticleBinaries ? 'present' : skipReason})`,
  () => {
    const sealed = (name: string, offset: number): Uint8Array => {
      const b = new Uint8Array(readFileSync(join(particleBinariesDir, name)));
      const v = view(b);
      const start = v.getUint32(offset, true);
      v.setUint32(offset, v.getUint32(offset + 4, true), true);
      v.setUint32(offset + 4, start, true);
      b.set(Buffer.from(sha256Hex(b.subarray(0, b.length - 38)), 'hex'), b.length - 38);
      v.setUint32(b.length - 4, crc32(b, 0, b.length - 4), false);
      return b;
    };

    it.each([
      ['boron-som-system-part1@1.1.0-rc.1.bin', 0x200],
      ['p2-tinker@5.3.1.bin', 0],
      ['043_system-part1.bin', 0x184],
      ['tracker-tinker@5.3.1.bin', 0],
      ['p2-bootloader@5.6.0.bin', 0x20],
    ])(
      '%s: FIRMWARE_BAD_PREFIX at prefix offset %i, not a platform read from the vector table',
      (name, offset) => {
        const f = inspectBytes(name, sealed(name, offset));
        expect(f.error).toMatchObject({ code: 'FIRMWARE_BAD_PREFIX', details: { prefixOffset: offset } });
      },
    );
  },
);

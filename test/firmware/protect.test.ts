import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware/builder';
import { parseModule } from '../../core/firmware/module-parser';
import {
  isProtectedModule,
  protectModule,
  SECURITY_MODE_EXTENSION,
  SECURITY_MODE_PROTECTED,
} from '../../core/firmware/protect';
import type { ModuleInfo, ModuleSpec } from '../../core/firmware/types';
import { oracleParse } from './oracle';
import { haveParticleBinaries, particleBinariesDir, skipReason } from './shared-fixtures';

/*
 * The protected bootloader re-seal (core/firmware/protect.ts) against Particle's own
 * createProtectedModule (binary-version-reader 3.1.3, a devDependency), byte for byte.
 */

const require = createRequire(import.meta.url);
const { createProtectedModule } = require('binary-version-reader') as {
  createProtectedModule: (module: Buffer, certificate?: Buffer) => Promise<Buffer>;
};
const particle = async (bytes: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await createProtectedModule(Buffer.from(bytes)));

const parsed = (bytes: Uint8Array): ModuleInfo => {
  const r = parseModule('m.bin', bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.module;
};

const sealed = (bytes: Uint8Array): Uint8Array => {
  const r = protectModule('boot.bin', bytes);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

const dynamicLocation = new Uint8Array([0x00, 0x40, 0x00, 0x08, ...new Uint8Array(8)]);

const bootloaders: Record<string, ModuleSpec> = {
  'Tracker, 40-byte suffix': {
    platformId: 26,
    function: 'bootloader',
    version: 3001,
    product: { id: 0, version: 0 },
  },
  'Boron, non-product': { platformId: 13, function: 'bootloader', version: 3001 },
  'P2, dynamic location and product data records': {
    platformId: 32,
    function: 'bootloader',
    version: 3001,
    prefixOffset: 0x20,
    dependencies: [{ function: 'bootloader', index: 2, version: 7 }],
    suffixExtensions: [{ type: 0x0002, payload: dynamicLocation }],
  },
  'records that end with END': {
    platformId: 13,
    function: 'bootloader',
    version: 3001,
    suffixExtensions: [
      { type: 0x0011, payload: new TextEncoder().encode('boot') },
      { type: 0x0000, payload: new Uint8Array(0) },
    ],
  },
  'records that end with END, no product data': {
    platformId: 13,
    function: 'bootloader',
    version: 3001,
    suffixExtensions: [
      { type: 0x0011, payload: new TextEncoder().encode('boot') },
      { type: 0x0000, payload: new Uint8Array(0) },
    ],
    product: null,
  },
  'an open SECURITY_MODE record (mode 0)': {
    platformId: 13,
    function: 'bootloader',
    version: 3001,
    suffixExtensions: [{ type: SECURITY_MODE_EXTENSION, payload: new Uint8Array([0]) }],
  },
};

describe('protectModule', () => {
  for (const [name, spec] of Object.entries(bootloaders))
    it(`seals a bootloader as Particle's createProtectedModule does: ${name}`, async () => {
      const open = buildModule(spec);
      const ours = sealed(open);
      expect(Buffer.from(ours).equals(Buffer.from(await particle(open)))).toBe(true);
      const m = parsed(ours);
      expect(m).toMatchObject({ function: 'bootloader', securityMode: SECURITY_MODE_PROTECTED });
      expect(m.crc.ok && m.hash.ok && m.identityError === undefined).toBe(true);
      expect(m.endAddress + 4 - m.startAddress).toBe(ours.length);
      expect(isProtectedModule(m)).toBe(true);
      expect(isProtectedModule(parsed(open))).toBe(false);
      const o = await oracleParse(ours);
      expect(o.suffixInfo.suffixSize).toBe(m.suffixSize);
      expect(o.suffixInfo.productId).toBe(m.productId);
      expect(o.suffixInfo.fwUniqueId).toBe(m.fwUniqueId);
      expect(o.crc.ok).toBe(true);
    });

  it('seals a module with the 36-byte suffix (no product fields) as a non-product build', async () => {
    const open = buildModule({ platformId: 13, function: 'bootloader', version: 3001, product: null });
    const m = parsed(sealed(open));
    // Particle's createProtectedModule throws here (it writes the parser's -1 as a u16).
    expect(m).toMatchObject({ securityMode: 1, productId: 0xffff, productVersion: 0xffff, suffixSize: 49 });
    expect((await oracleParse(sealed(open))).suffixInfo.productId).toBe(0xffff);
  });

  it('leaves a module that is already protected as it is (a certificate it carries is kept)', () => {
    const withCert = buildModule({
      platformId: 13,
      function: 'bootloader',
      version: 3001,
      suffixExtensions: [{ type: SECURITY_MODE_EXTENSION, payload: new Uint8Array([1, 9, 9, 9]) }],
    });
    expect(sealed(withCert)).toBe(withCert);
  });

  it('refuses what cannot be sealed honestly: damaged, compressed, combined, padded, not a module', () => {
    const code = (bytes: Uint8Array) => {
      const r = protectModule('x.bin', bytes);
      return r.ok ? 'ok' : r.error.code;
    };
    const boot = (extra: Partial<ModuleSpec>) =>
      buildModule({ platformId: 13, function: 'bootloader', version: 3001, ...extra });
    expect(code(boot({ corrupt: { crc: true } }))).toBe('FIRMWARE_CANNOT_PROTECT');
    expect(code(boot({ corrupt: { sha: true } }))).toBe('FIRMWARE_CANNOT_PROTECT');
    expect(code(boot({ flags: 0x02 }))).toBe('FIRMWARE_CANNOT_PROTECT');
    expect(code(boot({ flags: 0x04 }))).toBe('FIRMWARE_CANNOT_PROTECT');
    expect(code(new Uint8Array([...boot({}), 0xff, 0xff]))).toBe('FIRMWARE_CANNOT_PROTECT');
    expect(code(new Uint8Array(100))).toBe('FIRMWARE_CANNOT_PROTECT');
    const r = protectModule('x.bin', boot({ corrupt: { crc: true } }));
    expect(!r.ok && r.error.message).toMatch(/x\.bin .*CRC/);
  });
});

describe.skipIf(!haveParticleBinaries)(
  `protectModule on Particle's binaries (${haveParticleBinaries ? 'present' : skipReason})`,
  () => {
    const read = (name: string) => new Uint8Array(readFileSync(join(particleBinariesDir, name)));

    for (const platform of ['tracker', 'p2'])
      it(`re-seals ${platform}-bootloader@5.6.0.bin into ${platform}-bootloader-protected.bin, byte for byte`, () => {
        const ours = sealed(read(`${platform}-bootloader@5.6.0.bin`));
        const real = read(`${platform}-bootloader-protected.bin`);
        expect(Buffer.from(ours).equals(Buffer.from(real))).toBe(true);
      });

    for (const name of [
      'tracker-bootloader-protected.bin',
      'tracker-bootloader-protected-cert.bin',
      'p2-bootloader-protected.bin',
      'p2-bootloader-protected-cert.bin',
    ])
      it(`reads ${name} as a valid protected bootloader and leaves it unchanged`, () => {
        const bytes = read(name);
        const m = parsed(bytes);
        expect(m).toMatchObject({ function: 'bootloader', index: 0, securityMode: 1 });
        expect(m.crc.ok && m.hash.ok && m.identityError === undefined).toBe(true);
        expect(sealed(bytes)).toBe(bytes);
      });

    it('reads no security mode from an open bootloader', () => {
      expect(parsed(read('tracker-bootloader@5.6.0.bin')).securityMode).toBeUndefined();
    });
  },
);

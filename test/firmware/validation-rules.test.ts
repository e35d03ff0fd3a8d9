import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LsError } from '../../core/errors/result';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { dfuSuffixCrc, parseDfuse } from '../../core/firmware/dfuse-file';
import { FIRMWARE_ERRORS, type FirmwareErrorCode } from '../../core/firmware/errors';
import { inspectBytes, inspectFile } from '../../core/firmware/inspect';
import { validateForPlan } from '../../core/firmware/install-path';
import { planSet } from '../../core/firmware/plan-set';
import { protectModule } from '../../core/firmware/protect';
import { parseFileArgument } from '../../core/firmware/raw-file';
import type { InspectedFile, ModuleSpec, ProductTarget } from '../../core/firmware/types';
import { validateForProduct } from '../../core/firmware/validate-module';
import { validateSet } from '../../core/firmware/validate-set';

/*
 * One case per refusal: each builds the smallest input that breaks exactly one rule and names the
 * code it must produce. The last test checks that every code in the table has a case here.
 */

const BORON = 13;
const PRODUCT = 4242;
const boron: ProductTarget = {
  platformId: BORON,
  productId: PRODUCT,
  mode: 'flash-on-line',
  deviceOsVersion: 5600,
};
const app = (spec: Partial<ModuleSpec> = {}): Uint8Array =>
  buildModule({ platformId: BORON, function: 'user', product: { id: PRODUCT, version: 3 }, ...spec });
const inspect = (bytes: Uint8Array, name = 'file.bin'): InspectedFile => inspectBytes(name, bytes);
const codes = (errors: readonly LsError[]): string[] => errors.map((e) => e.code);

/** Rewrites the module CRC after a deliberate edit, so only the edit is wrong. */
const fixModuleCrc = (b: Uint8Array): Uint8Array => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let c = 0xffffffff;
  for (let i = 0; i < b.length - 4; i++) {
    c ^= b[i] as number;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  view.setUint32(b.length - 4, (c ^ 0xffffffff) >>> 0, false);
  return b;
};
const fixDfuCrc = (b: Uint8Array): Uint8Array => {
  new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, dfuSuffixCrc(b, b.length - 4), true);
  return b;
};
const dfu = () =>
  buildDfuse({
    targets: [{ alt: 0, name: 'Internal Flash', elements: [{ address: 0xb4000, data: patternBytes(64) }] }],
  });

type Case = [FirmwareErrorCode, string, () => readonly LsError[] | Promise<readonly LsError[]>];

const cases: Case[] = [
  [
    'FIRMWARE_UNREADABLE',
    'a path that does not exist',
    async () => {
      const f = await inspectFile(join(import.meta.dirname, 'no-such-file.bin'));
      return f.error ? [f.error] : [];
    },
  ],
  ['FIRMWARE_EMPTY', 'a 0-byte file', () => validateForProduct(inspect(new Uint8Array()), boron)],
  [
    'FIRMWARE_TRUNCATED',
    'a module cut in half',
    () => validateForProduct(inspect(app({ bodySize: 4000 }).subarray(0, 2000)), boron),
  ],
  [
    'FIRMWARE_NOT_A_MODULE',
    'text, not firmware',
    () => validateForProduct(inspect(new TextEncoder().encode('hello '.repeat(40))), boron),
  ],
  [
    'FIRMWARE_BAD_EXTENSION',
    'a suffix extension record of length 0',
    () => {
      const b = app({ suffixExtensions: [{ type: 0x11, payload: new TextEncoder().encode('name') }] });
      const suffixSize = b[b.length - 6] as number;
      b[b.length - 4 - suffixSize + 2] = 0; // the first record's length
      return validateForProduct(inspect(fixModuleCrc(b)), boron);
    },
  ],
  [
    'FIRMWARE_BAD_PREFIX',
    'an application whose prefix start and end addresses are swapped (SHA-256 and CRC intact)',
    () => {
      const end = new DataView(app().buffer).getUint32(4, true);
      return validateForProduct(inspect(app({ startAddress: end, lie: { endAddress: 0xb4000 } })), boron);
    },
  ],
  [
    'FIRMWARE_BAD_SUFFIX',
    'an application whose suffix size field is larger than the file (CRC intact)',
    () => validateForProduct(inspect(app({ lie: { suffixSize: 0xffff } })), boron),
  ],
  [
    'FIRMWARE_CRC_MISMATCH',
    'a wrong CRC-32',
    () => validateForProduct(inspect(app({ corrupt: { crc: true } })), boron),
  ],
  [
    'FIRMWARE_SHA_MISMATCH',
    'a wrong SHA-256',
    () => validateForProduct(inspect(app({ corrupt: { sha: true } })), boron),
  ],
  [
    'FIRMWARE_UNKNOWN_PLATFORM',
    'platform ID 99',
    () => validateForProduct(inspect(app({ platformId: 99, startAddress: 0x1000 })), boron),
  ],
  [
    'FIRMWARE_WRONG_PLATFORM',
    'an Argon build for a Boron product',
    () => validateForProduct(inspect(app({ platformId: 12 })), boron),
  ],
  [
    'FIRMWARE_WRONG_PRODUCT',
    "another product's application",
    () => validateForProduct(inspect(app({ product: { id: PRODUCT + 1, version: 1 } })), boron),
  ],
  [
    'FIRMWARE_OUT_OF_REGION',
    'a user part at the system part address',
    () => validateForProduct(inspect(app({ startAddress: 0x30000 })), boron),
  ],
  [
    'FIRMWARE_TOO_LARGE',
    'a 300 KB Boron application',
    () => validateForProduct(inspect(app({ bodySize: 300 * 1024 })), boron),
  ],
  [
    'FIRMWARE_COMPRESSED',
    'the COMPRESSED flag',
    () => validateForProduct(inspect(app({ flags: 0x02 })), boron),
  ],
  [
    'FIRMWARE_ENCRYPTED',
    'the ENCRYPTED flag',
    () => validateForProduct(inspect(app({ flags: 0x08 })), boron),
  ],
  [
    'FIRMWARE_NOT_DFU_MODULE',
    'an NCP module',
    () => validateForProduct(inspect(buildModule({ platformId: BORON, function: 'ncp' })), boron),
  ],
  [
    'FIRMWARE_READ_ONLY_REGION',
    'a Boron bootloader (its DFU layout marks the top pages read-only)',
    () =>
      validateForProduct(
        inspect(buildModule({ platformId: BORON, function: 'bootloader', bodySize: 40 * 1024 })),
        boron,
      ),
  ],
  [
    'FIRMWARE_DEPENDENCY_UNMET',
    'a user part needing a newer system part than the devices run',
    () =>
      validateSet([inspect(app({ dependencies: [{ function: 'system', index: 1, version: 6000 }] }))], boron)
        .errors,
  ],
  [
    'FIRMWARE_DEVICE_DEPENDENCY_UNMET',
    'a user part needing a system part the device does not report',
    () => planSet([inspect(app())], { ...boron, deviceModules: [] }).errors,
  ],
  [
    'FIRMWARE_NO_NCP',
    'NCP firmware for a Boron, which has no NCP',
    () => validateForPlan(inspect(buildModule({ platformId: BORON, function: 'ncp' })), boron),
  ],
  [
    'FIRMWARE_MODULE_NOT_INSTALLABLE',
    'a settings module',
    () => validateForPlan(inspect(buildModule({ platformId: BORON, function: 'settings' })), boron),
  ],
  [
    'FIRMWARE_PROTECTED_BOOTLOADER',
    'a protected bootloader for a product without Device Protection',
    () => {
      const r = protectModule(
        'boot.bin',
        buildModule({ platformId: BORON, function: 'bootloader', version: 3001 }),
      );
      return r.ok ? validateForPlan(inspect(r.value), boron) : [];
    },
  ],
  [
    'FIRMWARE_BELOW_PROTECTION_MINIMUM',
    'a system part older than 6101 for a protected device',
    () =>
      validateForPlan(inspect(buildModule({ platformId: BORON, function: 'system', version: 6100 })), {
        ...boron,
        deviceProtection: true,
      }),
  ],
  [
    'FIRMWARE_DUPLICATE_MODULE',
    'two applications',
    () => validateSet([inspect(app()), inspect(app({ seed: 9 }))], boron).errors,
  ],
  [
    'FIRMWARE_OVERLAP',
    'a raw image on top of the application',
    () =>
      validateSet([inspect(app()), inspectBytes('raw.bin', patternBytes(64), { rawAddress: 0xb4010 })], boron)
        .errors,
  ],
  [
    'FIRMWARE_NO_APPLICATION',
    'a set with only a system part',
    () => validateSet([inspect(buildModule({ platformId: BORON, function: 'system' }))], boron).errors,
  ],
  ['FIRMWARE_SET_EMPTY', 'no files at all', () => validateSet([], boron).errors],
  [
    'FIRMWARE_CANNOT_PROTECT',
    'a compressed bootloader to be sealed as protected',
    () => {
      const r = protectModule(
        'boot.bin',
        buildModule({ platformId: BORON, function: 'bootloader', flags: 0x02 }),
      );
      return r.ok ? [] : [r.error];
    },
  ],
  [
    'DFUSE_BAD_PREFIX',
    'a .dfu without the DfuSe signature',
    () => {
      const r = parseDfuse('x.dfu', new TextEncoder().encode('DfuSx'.padEnd(40, '.')));
      return r.ok ? [] : [r.error];
    },
  ],
  [
    'DFUSE_BAD_SUFFIX',
    "a .dfu whose suffix lost its 'UFD'",
    () => {
      const b = dfu();
      b[b.length - 8] = 0x58;
      return validateForProduct(inspect(b, 'a.dfu'), boron);
    },
  ],
  [
    'DFUSE_CRC_MISMATCH',
    'a .dfu with a wrong suffix CRC',
    () => validateForProduct(inspect(buildDfuse({ targets: [], corruptCrc: true }), 'a.dfu'), boron),
  ],
  [
    'DFUSE_BAD_STRUCTURE',
    'a .dfu whose element is longer than its target',
    () => {
      const b = dfu();
      new DataView(b.buffer).setUint32(11 + 274 + 4, 65, true); // element size 64 → 65
      return validateForProduct(inspect(fixDfuCrc(b), 'a.dfu'), boron);
    },
  ],
  [
    'RAW_BAD_ADDRESS',
    'FILE@0xNOTHEX',
    () => {
      const r = parseFileArgument('image.bin@0xNOTHEX');
      return r.ok ? [] : [r.error];
    },
  ],
];

describe('every refusal has a named code and a sentence', () => {
  it.each(cases)('%s: %s', async (code, _what, run) => {
    const errors = await run();
    expect(codes(errors)).toContain(code);
    for (const e of errors) {
      expect(e.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.message).toMatch(/\.$/);
      expect(e.remedy).toBeTruthy();
    }
    // The case breaks one rule: its code is the first thing reported.
    expect(errors[0]?.code).toBe(code);
  });

  it('has a case for every code in the table', () => {
    const covered = new Set(cases.map(([code]) => code));
    expect(Object.keys(FIRMWARE_ERRORS).filter((c) => !covered.has(c as FirmwareErrorCode))).toEqual([]);
  });

  it('accepts the valid counterparts', () => {
    const system = inspect(buildModule({ platformId: BORON, function: 'system', version: 5600 }));
    const set = validateSet([system, inspect(app())], { ...boron, deviceOsVersion: undefined });
    expect(set.errors).toEqual([]);
    expect(validateForProduct(inspect(app()), boron)).toEqual([]);
  });
});

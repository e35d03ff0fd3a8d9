import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LsError } from '../../core/errors/result';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { crc32 } from '../../core/firmware/crc32';
import { dfuSuffixCrc, isDfuse } from '../../core/firmware/dfuse-file';
import { FIRMWARE_ERRORS } from '../../core/firmware/errors';
import { inspectBytes } from '../../core/firmware/inspect';
import type { InspectedFile, ModuleFunctionName, ProductTarget } from '../../core/firmware/types';
import { validateForProduct } from '../../core/firmware/validate-module';
import { validateSet } from '../../core/firmware/validate-set';
import { haveParticleBinaries, realBinaries } from './shared-fixtures';

/*
 * Seeded mutation fuzzing: real binaries (when ../shared is present) and generated modules and
 * .dfu files, mutated where parsers are fragile (prefix, suffix, lengths), sometimes with the CRC
 * repaired so the damage reaches the deeper checks. Inspection and validation must never throw,
 * never fall into the FIRMWARE_INTERNAL safety net, and every refusal must carry a known code.
 */

const RUNS = 10_000;
const SEED = 20261125;
const MAX_REAL_SIZE = 64 * 1024;

const generated = (): { name: string; bytes: Uint8Array }[] => {
  const out: { name: string; bytes: Uint8Array }[] = [];
  const fns: ModuleFunctionName[] = ['bootloader', 'system', 'user', 'mono', 'radio', 'ncp', 'asset'];
  let seed = 1;
  for (const platformId of [0, 6, 10, 13, 26, 32, 35])
    for (const fn of fns) {
      seed++;
      out.push({
        name: `gen-${platformId}-${fn}.bin`,
        bytes: buildModule({ platformId, function: fn, seed, bodySize: 200 }),
      });
    }
  out.push({
    name: 'gen-ext.bin',
    bytes: buildModule({
      platformId: 32,
      function: 'user',
      product: { id: 77, version: 2 },
      suffixExtensions: [
        { type: 0x11, payload: new TextEncoder().encode('app') },
        { type: 0x02, payload: new Uint8Array(12) },
      ],
    }),
  });
  out.push({
    name: 'gen-prefix-ext.bin',
    bytes: buildModule({
      platformId: 32,
      function: 'user',
      flags: 0x10,
      body: new Uint8Array([0, 0, 4, 0, ...patternBytes(60)]),
    }),
  });
  const user = buildModule({ platformId: 13, function: 'user', seed: 5 });
  out.push({
    name: 'gen.dfu',
    bytes: buildDfuse({
      targets: [
        {
          alt: 0,
          name: 'Internal Flash',
          elements: [
            { address: 0xb4000, data: user },
            { address: 0x30000, data: patternBytes(100) },
          ],
        },
        { alt: 1, elements: [{ address: 0, data: patternBytes(32) }] },
      ],
    }),
  });
  // dfuse-pack's reading of DFUImageSize: the whole file, suffix included.
  out.push({
    name: 'gen-pack.dfu',
    bytes: buildDfuse({
      imageSizeWithSuffix: true,
      targets: [{ alt: 0, elements: [{ address: 0xb4000, data: user }] }],
    }),
  });
  out.push({ name: 'empty.dfu', bytes: buildDfuse({ targets: [] }) });
  return out;
};

const corpus = [
  ...generated(),
  ...(haveParticleBinaries ? realBinaries().filter((f) => f.bytes.length <= MAX_REAL_SIZE) : []),
];

type Zone = 'any' | 'head' | 'vector184' | 'vector200' | 'tail';
type Mutation =
  | { kind: 'flip'; zone: Zone; off: number; bit: number }
  | { kind: 'byte'; zone: Zone; off: number; value: number }
  | { kind: 'u32'; zone: Zone; off: number; value: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; bytes: Uint8Array };

const zone = fc.constantFrom<Zone>('any', 'head', 'vector184', 'vector200', 'tail');
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), zone, off: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('byte' as const),
    zone,
    off: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('u32' as const),
    zone,
    off: fc.nat(),
    value: fc.constantFrom(0, 1, 4, 16, 0xff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 0x08000000, 0xb4000),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 48 }) }),
);

const position = (len: number, z: Zone, off: number): number => {
  if (len === 0) return 0;
  const base = { any: 0, head: 0, vector184: 0x184, vector200: 0x200, tail: Math.max(0, len - 128) }[z];
  const span = z === 'any' ? len : 128;
  return Math.min(len - 1, base + (off % span));
};

const mutate = (input: Uint8Array, mutations: readonly Mutation[]): Uint8Array => {
  let b = new Uint8Array(input);
  for (const m of mutations) {
    if (m.kind === 'truncate') b = b.slice(0, b.length === 0 ? 0 : m.keep % (b.length + 1));
    else if (m.kind === 'append') {
      const n = new Uint8Array(b.length + m.bytes.length);
      n.set(b);
      n.set(m.bytes, b.length);
      b = n;
    } else if (b.length > 0) {
      const p = position(b.length, m.zone, m.off);
      if (m.kind === 'flip') b[p] = (b[p] as number) ^ (1 << m.bit);
      else if (m.kind === 'byte') b[p] = m.value;
      else for (let i = 0; i < 4 && p + i < b.length; i++) b[p + i] = (m.value >>> (8 * i)) & 0xff;
    }
  }
  return b;
};

/** Repairs the trailing CRC so the mutation is judged by the deeper rules, not the CRC check. */
const repairCrc = (b: Uint8Array): Uint8Array => {
  if (b.length < 8) return b;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (isDfuse(b)) view.setUint32(b.length - 4, dfuSuffixCrc(b, b.length - 4), true);
  else view.setUint32(b.length - 4, crc32(b, 0, b.length - 4), false);
  return b;
};

const KNOWN = new Set(Object.keys(FIRMWARE_ERRORS));
const checkErrors = (errors: readonly LsError[], where: string): void => {
  for (const e of errors) {
    if (!KNOWN.has(e.code)) throw new Error(`${where}: unknown or internal code ${e.code}: ${e.message}`);
    if (e.message.length < 10) throw new Error(`${where}: ${e.code} has no real message`);
  }
};

const targets: ProductTarget[] = [
  { platformId: 13, productId: 4242, mode: 'flash-on-line', deviceOsVersion: 5600 },
  { platformId: 32, productId: 32, mode: 'flash-on-line' },
  { platformId: 6, productId: 5, mode: 'ota-on-setup' },
  { platformId: 26, productId: 26, mode: 'flash-on-line', deviceOsVersion: 3000 },
];

describe('mutation fuzzing of inspection and validation', () => {
  it(`pushes ${RUNS} mutated files (${haveParticleBinaries ? 'real and generated' : 'generated only: ../shared is absent'}) through without a throw`, () => {
    expect(corpus.length).toBeGreaterThan(40);
    const companion = inspectBytes('companion.bin', buildModule({ platformId: 13, function: 'system' }));
    let runs = 0;
    const seenCodes = new Set<string>();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: corpus.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.option(fc.constantFrom(0x08000000, 0xb4000, 0xffffff00), { nil: undefined }),
        fc.integer({ min: 0, max: targets.length - 1 }),
        (which, mutations, repair, rawAddress, t) => {
          runs++;
          const source = corpus[which] as { name: string; bytes: Uint8Array };
          let bytes = mutate(source.bytes, mutations);
          if (repair) bytes = repairCrc(bytes);
          const file: InspectedFile = inspectBytes(
            source.name,
            bytes,
            rawAddress === undefined ? {} : { rawAddress },
          );
          const target = targets[t] as ProductTarget;
          const where = `${source.name} ${JSON.stringify(mutations)}`;
          if (file.error) checkErrors([file.error], where);
          const perFile = validateForProduct(file, target);
          checkErrors(perFile, where);
          const set = validateSet([file, companion], target);
          checkErrors(set.errors, where);
          for (const e of [...perFile, ...set.errors]) seenCodes.add(e.code);
          for (const image of set.plan)
            if (!(image.data instanceof Uint8Array)) throw new Error(`${where}: bad plan`);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(RUNS);
    // The mutations reach deep rules, not only the integrity checks at the door.
    for (const code of [
      'FIRMWARE_CRC_MISMATCH',
      'FIRMWARE_SHA_MISMATCH',
      'FIRMWARE_TRUNCATED',
      'FIRMWARE_WRONG_PLATFORM',
    ])
      expect(seenCodes).toContain(code);
  });
});

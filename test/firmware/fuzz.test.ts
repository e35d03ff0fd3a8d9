import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LsError } from '../../core/errors/result';
import { buildDfuse, buildModule, patternBytes } from '../../core/firmware/builder';
import { sha256Hex } from '../../core/firmware/bytes';
import { crc32 } from '../../core/firmware/crc32';
import { dfuSuffixCrc, isDfuse } from '../../core/firmware/dfuse-file';
import { FIRMWARE_ERRORS } from '../../core/firmware/errors';
import { inspectBytes } from '../../core/firmware/inspect';
import { FLAG_PREFIX_EXTENSIONS, PREFIX_SIZE, readPrefixExtensions } from '../../core/firmware/module-prefix';
import type { InspectedFile, ModuleFunctionName, ModuleInfo, ProductTarget } from '../../core/firmware/types';
import { fileProblems, validateForProduct } from '../../core/firmware/validate-module';
import { validateSet } from '../../core/firmware/validate-set';
import { platformById } from '../../core/platforms';
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

/*
 * Two shapes of module that lie about themselves, each built from a valid module whose identity is
 * known: a random suffix size field, and random or swapped prefix addresses, each sometimes sealed
 * again (SHA-256 and CRC recomputed) so the lie is all that is wrong. Every outcome must be a
 * parse whose identity is the module's own, or a refusal with a named code: never a throw, never
 * FIRMWARE_UNKNOWN_PLATFORM for a platform read from the wrong bytes, never a wrong identity.
 */

const LIE_RUNS = 10_000;

interface Truth {
  name: string;
  bytes: Uint8Array;
  module: ModuleInfo;
  /** Where the prefix (with its extension records) ends: a suffix must not reach back past it. */
  prefixEnd: number;
}

const truths: Truth[] = corpus.flatMap((source) => {
  const f = inspectBytes(source.name, source.bytes);
  const m = f.module;
  if (!m || f.kind !== 'module' || m.identityError || !m.crc.ok || !m.hash.ok || !m.platform) return [];
  const ext =
    m.flags & FLAG_PREFIX_EXTENSIONS ? readPrefixExtensions(source.bytes, m.prefixOffset) : undefined;
  const prefixEnd = m.prefixOffset + (ext?.ok ? ext.prefixSize : PREFIX_SIZE);
  return [{ ...source, module: m, prefixEnd }];
});

/** Recomputes the SHA-256 and the CRC, so the edited file looks as built. */
const seal = (b: Uint8Array): Uint8Array => {
  b.set(Buffer.from(sha256Hex(b.subarray(0, b.length - 38)), 'hex'), b.length - 38);
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(
    b.length - 4,
    crc32(b, 0, b.length - 4),
    false,
  );
  return b;
};

const sameIdentity = (got: ModuleInfo, want: ModuleInfo, where: string): void => {
  const id = (m: ModuleInfo) => [
    m.platformId,
    m.function,
    m.index,
    m.version,
    m.prefixOffset,
    m.dependencies,
  ];
  expect(id(got), `${where}: a wrong identity was accepted`).toEqual(id(want));
};

/** Inspects and validates; returns every problem with the file, all checked for named codes. */
const outcome = (
  name: string,
  bytes: Uint8Array,
  where: string,
): { file: InspectedFile; codes: Set<string> } => {
  const file = inspectBytes(name, bytes);
  const problems = file.module ? fileProblems(file) : file.error ? [file.error] : [];
  checkErrors(problems, where);
  for (const target of targets) checkErrors(validateForProduct(file, target), where);
  return { file, codes: new Set(problems.map((e) => e.code)) };
};

type SuffixLie = { from: 'value'; value: number } | { from: 'room' | 'file'; delta: number };
const suffixLie: fc.Arbitrary<SuffixLie> = fc.oneof(
  fc.record({ from: fc.constant('value' as const), value: fc.integer({ min: 0, max: 80 }) }),
  fc.record({ from: fc.constant('value' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ from: fc.constant('value' as const), value: fc.constantFrom(36, 40, 0x8000, 0xffff) }),
  fc.record({
    from: fc.constantFrom('room' as const, 'file' as const),
    delta: fc.integer({ min: -8, max: 8 }),
  }),
);

type AddressLie =
  | { kind: 'swap' }
  | { kind: 'start'; value: number }
  | { kind: 'end'; value: number }
  | { kind: 'both'; start: number; end: number }
  | { kind: 'startDelta'; delta: number }
  | { kind: 'endDelta'; delta: number }
  | { kind: 'shift'; delta: number }
  | { kind: 'inFlash'; a: number; b: number };
const u32 = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 1, 0xffffffff, 0x08000000, 0x08020000, 0x085f4000, 0x30000, 0xb4000, 0xf4000),
);
const addressLie: fc.Arbitrary<AddressLie> = fc.oneof(
  fc.constant({ kind: 'swap' as const }),
  fc.record({ kind: fc.constantFrom('start' as const, 'end' as const), value: u32 }),
  fc.record({ kind: fc.constant('both' as const), start: u32, end: u32 }),
  fc.record({
    kind: fc.constantFrom('startDelta' as const, 'endDelta' as const, 'shift' as const),
    delta: fc.oneof(fc.integer({ min: -64, max: 64 }), fc.integer({ min: -0x100000, max: 0x100000 })),
  }),
  fc.record({ kind: fc.constant('inFlash' as const), a: fc.nat(), b: fc.nat() }),
);

describe('modules that lie about themselves', () => {
  it(`refuses or reads right ${LIE_RUNS} random suffix size fields (${truths.length} valid modules)`, () => {
    expect(truths.length).toBeGreaterThan(40);
    const seen = new Set<string>();
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: truths.length - 1 }),
        suffixLie,
        fc.boolean(),
        (which, lie, sealed) => {
          runs++;
          const t = truths[which] as Truth;
          const b = new Uint8Array(t.bytes);
          const n = b.length;
          const room = n - 4 - t.prefixEnd;
          const size =
            (lie.from === 'value' ? lie.value : (lie.from === 'room' ? room : n) + lie.delta) & 0xffff;
          new DataView(b.buffer).setUint16(n - 6, size, true);
          if (sealed) seal(b);
          const where = `${t.name} suffix size ${size} (${t.module.suffixSize} before, room ${room})${sealed ? ' sealed' : ''}`;
          const { file, codes } = outcome(t.name, b, where);
          for (const c of codes) seen.add(c);
          const fits = size === 36 || (size >= 40 && size <= room);
          if (!fits) {
            expect([...codes], `${where}: not refused as FIRMWARE_BAD_SUFFIX`).toContain(
              'FIRMWARE_BAD_SUFFIX',
            );
            if (sealed) expect(file.error?.code, where).toBe('FIRMWARE_BAD_SUFFIX');
            return;
          }
          expect([...codes], where).not.toContain('FIRMWARE_BAD_SUFFIX');
          // A size that fits may walk extension records over the body, where Particle's parser
          // throws on a zero-length one: FIRMWARE_BAD_EXTENSION. Otherwise the identity is the module's.
          if (!file.module) {
            expect(file.error?.code, where).toBe('FIRMWARE_BAD_EXTENSION');
            return;
          }
          sameIdentity(file.module, t.module, where);
          // Product data sits at a fixed place before the suffix's fixed part; a size below 40 says there is none.
          const stored = new DataView(b.buffer).getUint16(n - 44, true);
          expect(file.module.productId, where).toBe(size < 40 ? -1 : stored);
          if (size === t.module.suffixSize) expect(file.module.productId, where).toBe(t.module.productId);
        },
      ),
      { seed: SEED, numRuns: LIE_RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(LIE_RUNS);
    expect(seen).toContain('FIRMWARE_BAD_SUFFIX');
  });

  it(`refuses or reads right ${LIE_RUNS} random or swapped prefix addresses`, () => {
    const seen = new Set<string>();
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: truths.length - 1 }),
        addressLie,
        fc.boolean(),
        (which, lie, sealed) => {
          const t = truths[which] as Truth;
          const b = new Uint8Array(t.bytes);
          const view = new DataView(b.buffer);
          const o = t.module.prefixOffset;
          let start = t.module.startAddress;
          let end = t.module.endAddress;
          const { internalStart, internalEnd } = platformFlash(t.module.platformId);
          if (lie.kind === 'swap') [start, end] = [end, start];
          else if (lie.kind === 'start') start = lie.value;
          else if (lie.kind === 'end') end = lie.value;
          else if (lie.kind === 'both') [start, end] = [lie.start, lie.end];
          else if (lie.kind === 'startDelta') start += lie.delta;
          else if (lie.kind === 'endDelta') end += lie.delta;
          else if (lie.kind === 'shift') [start, end] = [start + lie.delta, end + lie.delta];
          else {
            const span = internalEnd - internalStart;
            [start, end] = [internalStart + (lie.a % span), internalStart + (lie.b % span)];
          }
          start >>>= 0;
          end >>>= 0;
          view.setUint32(o, start, true);
          view.setUint32(o + 4, end, true);
          if (sealed) seal(b);
          const where = `${t.name} prefix at 0x${o.toString(16)}: ${JSON.stringify(lie)} → 0x${start.toString(16)}–0x${end.toString(16)}${sealed ? ' sealed' : ''}`;
          const { file, codes } = outcome(t.name, b, where);
          for (const c of codes) seen.add(c);
          // The platform field is intact: an unknown platform can only come from the wrong bytes.
          expect([...codes], where).not.toContain('FIRMWARE_UNKNOWN_PLATFORM');
          const m = file.module;
          const trusted = m !== undefined && m.identityError === undefined;
          if (trusted) {
            sameIdentity(m, t.module, where);
            expect([m.startAddress, m.endAddress], where).toEqual([start, end]);
            if (m.crc.ok)
              expect(end - start + 4, `${where}: a size that contradicts a whole file`).toBe(b.length);
            if (codes.size === 0) accepted++;
          }
          if (end <= start) {
            expect(trusted, `${where}: swapped addresses trusted`).toBe(false);
            expect([...codes], where).toContain('FIRMWARE_BAD_PREFIX');
          }
          if (sealed && end - start + 4 !== b.length)
            expect([...codes], where).toContain('FIRMWARE_BAD_PREFIX');
        },
      ),
      { seed: SEED, numRuns: LIE_RUNS },
    );
    expect(seen).toContain('FIRMWARE_BAD_PREFIX');
    // Shifted modules keep a consistent prefix: some are read (and refused only by the flash map, if at all).
    expect(accepted).toBeGreaterThan(0);
  });
});

const platformFlash = (id: number): { internalStart: number; internalEnd: number } => {
  const p = platformById(id);
  if (!p) throw new Error(`platform ${id} is not in the table`);
  return p.flash;
};

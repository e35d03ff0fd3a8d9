import type { LsError } from '../errors/result';
import { platformById } from '../platforms';
import { sha256Hex, toHex, u8, u32be } from './bytes';
import { crc32, crcHex } from './crc32';
import { firmwareError } from './errors';
import {
  EXTENSION_HASH,
  EXTENSION_SECURITY_MODE,
  FLAG_NAMES,
  FLAG_PREFIX_EXTENSIONS,
  findPrefix,
  judgePrefix,
  MIN_MODULE_SIZE,
  PREFIX_SIZE,
  type PrefixFault,
  type RawDependency,
  readPrefix,
  readPrefixExtensions,
} from './module-prefix';
import { readSuffix } from './module-suffix';
import {
  MODULE_FUNCTIONS,
  type ModuleDependency,
  type ModuleExtension,
  type ModuleFunctionName,
  type ModuleInfo,
} from './types';

export const functionName = (code: number): ModuleFunctionName | number => MODULE_FUNCTIONS[code] ?? code;

export const functionCode = (fn: ModuleFunctionName | number): number =>
  typeof fn === 'number' ? fn : MODULE_FUNCTIONS.indexOf(fn);

const dependency = (d: RawDependency): ModuleDependency => ({
  function: functionName(d.fn),
  index: d.index,
  version: d.version,
});

export const flagNames = (flags: number): string[] => {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
  const unknown = flags & ~0x1f;
  if (unknown) names.push(`0x${unknown.toString(16).padStart(2, '0')}`);
  return names;
};

/**
 * Whether the SHA-256 in the suffix matches the file. Device OS hashes bytes [0, length − 38):
 * everything but the SHA itself, the suffix size and the CRC. Particle's ESP32 NCP images instead hash their body without the prefix and
 * without the last 2 bytes before the SHA; both layouts are accepted for NCP modules only.
 */
const hashMatches = (b: Uint8Array, fn: number, prefixOffset: number, stored: string): [boolean, string] => {
  const actual = sha256Hex(b.subarray(0, b.length - 38));
  if (actual === stored) return [true, actual];
  if (fn === 7) {
    const ncp = sha256Hex(b.subarray(prefixOffset + PREFIX_SIZE, b.length - 40));
    if (ncp === stored) return [true, ncp];
  }
  return [false, actual];
};

/**
 * What the SECURITY_MODE and HASH records say. Particle's parser takes the first of each type,
 * prefix records before suffix records; the record's bytes after its 4-byte header are the payload.
 */
const extensionFacts = (
  b: Uint8Array,
  prefixRecords: readonly ModuleExtension[],
  suffixRecords: readonly ModuleExtension[],
): Pick<ModuleInfo, 'securityMode' | 'contentHash'> => {
  const records = [...prefixRecords, ...suffixRecords];
  const security = records.find((r) => r.type === EXTENSION_SECURITY_MODE && r.length > 4);
  // Hash record: hash type (0 = SHA-256), hash length, then the hash up to the record's end.
  const hash = records.find((r) => r.type === EXTENSION_HASH && r.length > 6);
  return {
    ...(security ? { securityMode: u8(b, security.offset + 4) } : {}),
    ...(hash ? { contentHash: toHex(b.subarray(hash.offset + 6, hash.offset + hash.length)) } : {}),
  };
};

const hexOffset = (o: number): string => `0x${o.toString(16)}`;

/** Whose prefix it says it is: "Boron user part", "P2 bootloader", "platform ID 103 system part". */
const prefixOwner = (b: Uint8Array, o: number): string => {
  const p = readPrefix(b, o);
  const platform = platformById(p.platformId)?.displayName ?? `platform ID ${p.platformId}`;
  const fn = functionName(p.fn);
  const what =
    typeof fn === 'number' ? `function ${fn} module` : fn === 'system' || fn === 'user' ? `${fn} part` : fn;
  return `${platform} ${what}`;
};

const badPrefix = (file: string, b: Uint8Array, f: PrefixFault): LsError =>
  firmwareError(
    'FIRMWARE_BAD_PREFIX',
    `${file}: the module prefix at offset ${hexOffset(f.prefixOffset)} (${prefixOwner(b, f.prefixOffset)}) is damaged: ${f.reason}.`,
    { prefixOffset: f.prefixOffset, ...(f.field ? { field: f.field, fieldOffset: f.fieldOffset } : {}) },
  );

const truncated = (file: string, n: number, expectedSize: number, prefixOffset: number): ModuleParse => ({
  ok: false,
  error: firmwareError(
    'FIRMWARE_TRUNCATED',
    `${file} is ${n} bytes but its module prefix says the module is ${expectedSize} bytes: the file is cut short.`,
    { size: n, expectedSize, prefixOffset },
  ),
});

export type ModuleParse = { ok: true; module: ModuleInfo } | { ok: false; error: LsError };

/**
 * Parses a Particle module binary. Fields agree with Particle's binary-version-reader (same
 * prefix search, same suffix reading); where that parser throws, this returns a coded error.
 * Where that parser reads a prefix or suffix that contradicts the file, the module keeps its
 * fields and carries the refusal in `identityError`; where it would read a false prefix instead of
 * the module's own damaged one, there is no module, only FIRMWARE_BAD_PREFIX.
 */
export const parseModule = (file: string, b: Uint8Array): ModuleParse => {
  const n = b.length;
  if (n === 0) return { ok: false, error: firmwareError('FIRMWARE_EMPTY', `${file} is empty (0 bytes).`) };
  if (n < MIN_MODULE_SIZE)
    return {
      ok: false,
      error: firmwareError(
        'FIRMWARE_TRUNCATED',
        `${file} is ${n} bytes, too short for a module (a prefix, suffix and CRC take ${MIN_MODULE_SIZE}).`,
        { size: n, minimum: MIN_MODULE_SIZE },
      ),
    };
  const actualCrc = crcHex(crc32(b, 0, n - 4));
  const storedCrc = crcHex(u32be(b, n - 4));
  const search = findPrefix(b);
  const verdict = judgePrefix(b, search, actualCrc === storedCrc);
  if (verdict.kind === 'damaged') return { ok: false, error: badPrefix(file, b, verdict.fault) };
  if (verdict.kind === 'truncated') return truncated(file, n, verdict.expectedSize, verdict.prefixOffset);
  if (search.score === 0) {
    if (search.truncatedAt !== undefined) {
      const p = readPrefix(b, search.truncatedAt);
      return truncated(file, n, p.endAddress - p.startAddress + 4, search.truncatedAt);
    }
    return {
      ok: false,
      error: firmwareError('FIRMWARE_NOT_A_MODULE', `${file} has no Particle module prefix.`, { size: n }),
    };
  }
  const prefixOffset = search.offset;
  let identityError: LsError | undefined;
  if (verdict.kind === 'lies') identityError = badPrefix(file, b, verdict.fault);
  if (verdict.kind === 'unbelievable')
    identityError = firmwareError(
      'FIRMWARE_NOT_A_MODULE',
      `${file} has no believable module prefix: the best candidate Particle's parser finds, at offset ${hexOffset(prefixOffset)}, ${verdict.reason}.`,
      { prefixOffset },
    );
  const p = readPrefix(b, prefixOffset);
  const extensions: ModuleExtension[] = [];
  let prefixSize = PREFIX_SIZE;
  if (p.flags & FLAG_PREFIX_EXTENSIONS) {
    const ext = readPrefixExtensions(b, prefixOffset);
    if (!ext.ok)
      return {
        ok: false,
        error: firmwareError('FIRMWARE_BAD_EXTENSION', `${file}: ${ext.reason}.`, { prefixOffset }),
      };
    extensions.push(...ext.extensions);
    prefixSize = ext.prefixSize;
  }
  const suffix = readSuffix(b, prefixOffset + prefixSize);
  if (!suffix.ok)
    return { ok: false, error: firmwareError('FIRMWARE_BAD_EXTENSION', `${file}: ${suffix.reason}.`) };
  const s = suffix.suffix;
  if (s.sizeProblem && !identityError) {
    const particle =
      s.productId < 0 ? 'no product ID' : `product ID ${s.productId}, version ${s.productVersion}`;
    identityError = firmwareError(
      'FIRMWARE_BAD_SUFFIX',
      `${file}: ${s.sizeProblem}, so its product ID cannot be read (Particle's parser would read ${particle}).`,
      {
        suffixSize: s.suffixSize,
        size: n,
        particleParserWouldSay: { productId: s.productId, productVersion: s.productVersion },
      },
    );
  }
  const [hashOk, hashActual] = hashMatches(b, p.fn, prefixOffset, s.fwUniqueId);
  const module: ModuleInfo = {
    prefixOffset,
    startAddress: p.startAddress,
    endAddress: p.endAddress,
    flags: p.flags,
    flagNames: flagNames(p.flags),
    version: p.version,
    platformId: p.platformId,
    platform: platformById(p.platformId)?.name,
    function: functionName(p.fn),
    index: p.index,
    dependencies: p.deps.map(dependency),
    productId: s.productId,
    productVersion: s.productVersion,
    suffixSize: s.suffixSize,
    fwUniqueId: s.fwUniqueId,
    crc: { ok: actualCrc === storedCrc, stored: storedCrc, actual: actualCrc },
    hash: { ok: hashOk, actual: hashActual },
    extensions: [...s.extensions, ...extensions],
    ...extensionFacts(b, extensions, s.extensions),
    ...(identityError ? { identityError } : {}),
  };
  return { ok: true, module };
};

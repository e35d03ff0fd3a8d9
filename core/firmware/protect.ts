import { err, type LsError, ok, type Result } from '../errors/result';
import { ByteWriter, sha256Hex, u16le } from './bytes';
import { crc32 } from './crc32';
import type { FirmwareErrorCode } from './errors';
import { firmwareError } from './errors';
import { parseModule } from './module-parser';
import {
  EXTENSION_END,
  EXTENSION_PRODUCT_DATA,
  EXTENSION_SECURITY_MODE,
  FLAG_COMPRESSED,
  FLAG_ENCRYPTED,
  FLAG_PREFIX_EXTENSIONS,
  MIN_SUFFIX_SIZE,
} from './module-prefix';
import type { ModuleInfo } from './types';

/*
 * A device under Device Protection takes only a protected bootloader: one whose suffix carries a
 * SECURITY_MODE record (type 0x0013) with mode 1. Particle's tools add that record before they
 * send a bootloader to a protected device (particle-cli `maintainDeviceProtection`, with
 * binary-version-reader `createProtectedModule`); the station does the same, byte for byte:
 * - the new record goes first, then the suffix's other records (a SECURITY_MODE record already
 *   there is replaced), then END unless the last record is END or PRODUCT_DATA;
 * - without a PRODUCT_DATA record, the product ID and version follow as 4 raw bytes;
 * - the prefix's end address, the suffix size, the SHA-256 and the CRC-32 are written again.
 */

export const SECURITY_MODE_EXTENSION = EXTENSION_SECURITY_MODE;
export const SECURITY_MODE_OPEN = 0;
export const SECURITY_MODE_PROTECTED = 1;

const FLAG_COMBINED = 0x04;
const RECORD_HEADER = 4;
/** The fixed suffix after the records: product ID, product version (when raw), reserved, SHA-256, size. */
const RAW_PRODUCT_SIZE = 4;

export const isProtectedModule = (m: Pick<ModuleInfo, 'securityMode'>): boolean =>
  m.securityMode === SECURITY_MODE_PROTECTED;

const refuse = (
  label: string,
  why: string,
  details?: Record<string, unknown>,
): { ok: false; error: LsError<FirmwareErrorCode> } => ({
  ok: false,
  error: firmwareError(
    'FIRMWARE_CANNOT_PROTECT',
    `${label} cannot be sealed as a protected module: ${why.replace(/\.$/, '')}.`,
    details,
  ),
});

/** Why the module cannot be re-sealed without lying about it, or undefined when it can. */
const unsealable = (m: ModuleInfo, size: number): string | undefined => {
  // Re-sealing recomputes the checksums: doing it over damage would make a damaged module look whole.
  if (m.identityError) return m.identityError.message;
  if (!m.crc.ok) return `its CRC-32 is wrong (stored ${m.crc.stored}, computed ${m.crc.actual})`;
  if (!m.hash.ok) return 'the SHA-256 in its suffix does not match its contents';
  if (m.flags & FLAG_COMPRESSED) return 'it is compressed (the records are inside the compressed data)';
  if (m.flags & FLAG_COMBINED) return 'it is a combined module';
  if (m.flags & FLAG_ENCRYPTED) return 'it is encrypted';
  // Particle moves such records into the prefix, which shifts the whole module: no bootloader does that.
  if (m.flags & FLAG_PREFIX_EXTENSIONS) return 'it keeps its extension records in the prefix';
  if (m.endAddress + 4 - m.startAddress !== size)
    return `its prefix says it is ${m.endAddress + 4 - m.startAddress} bytes but the file is ${size} (padded)`;
  if (m.suffixSize < MIN_SUFFIX_SIZE || m.suffixSize > size - 4)
    return 'its suffix size does not fit the file';
  return undefined;
};

/**
 * The module with a SECURITY_MODE record saying "protected", sealed again. A module that is
 * already protected comes back as it is (the same array): its record may carry a certificate,
 * which Particle's createProtectedModule would drop. Damaged, compressed, combined, encrypted or
 * padded modules are refused with FIRMWARE_CANNOT_PROTECT.
 */
export const protectModule = (label: string, bytes: Uint8Array): Result<Uint8Array, FirmwareErrorCode> => {
  const parsed = parseModule(label, bytes);
  if (!parsed.ok) return refuse(label, parsed.error.message, { cause: parsed.error.code });
  const m = parsed.module;
  const why = unsealable(m, bytes.length);
  if (why) return refuse(label, why);
  if (isProtectedModule(m)) return ok(bytes);

  const n = bytes.length;
  const suffixStart = n - 4 - m.suffixSize;
  // The records Particle's parser walked in the suffix (prefix records were refused above).
  const kept = m.extensions.filter(
    (r) => r.offset >= suffixStart && r.offset < n - 4 && r.type !== EXTENSION_SECURITY_MODE,
  );
  const records: Uint8Array[] = [
    new Uint8Array([
      EXTENSION_SECURITY_MODE & 0xff,
      EXTENSION_SECURITY_MODE >> 8,
      5,
      0,
      SECURITY_MODE_PROTECTED,
    ]),
    ...kept.map((r) => bytes.subarray(r.offset, r.offset + r.length)),
  ];
  const last = kept[kept.length - 1]?.type ?? EXTENSION_SECURITY_MODE;
  if (last !== EXTENSION_END && last !== EXTENSION_PRODUCT_DATA)
    records.push(new Uint8Array([EXTENSION_END, 0, RECORD_HEADER, 0]));
  const rawProduct = !kept.some((r) => r.type === EXTENSION_PRODUCT_DATA);
  const recordBytes = records.reduce((sum, r) => sum + r.length, 0);
  const suffixSize = recordBytes + (rawProduct ? RAW_PRODUCT_SIZE : 0) + MIN_SUFFIX_SIZE;
  const total = suffixStart + suffixSize + 4;

  const w = new ByteWriter(total);
  w.set(0, bytes.subarray(0, suffixStart));
  w.u32le(m.prefixOffset + 4, m.startAddress + total - 4);
  let o = suffixStart;
  for (const r of records) {
    w.set(o, r);
    o += r.length;
  }
  if (rawProduct) {
    // A suffix too short for product fields reads as -1: write the non-product marker instead.
    w.u16le(o, m.productId < 0 ? 0xffff : m.productId);
    w.u16le(o + 2, m.productVersion < 0 ? 0xffff : m.productVersion);
    o += RAW_PRODUCT_SIZE;
  }
  w.u16le(o, u16le(bytes, n - 40)); // reserved, as it was
  w.set(o + 2, Buffer.from(sha256Hex(w.bytes.subarray(0, total - 38)), 'hex'));
  w.u16le(o + 34, suffixSize);
  w.u32be(total - 4, crc32(w.bytes, 0, total - 4));

  // Our own parser must read it back as the same module, now protected; anything else is a bug here.
  const check = parseModule(label, w.bytes);
  if (!check.ok || unsealable(check.module, total) || !isProtectedModule(check.module))
    return err('FIRMWARE_CANNOT_PROTECT', `${label}: the sealed module does not read back as protected.`, {
      remedy: 'Report this as a station bug, with the bootloader file.',
    });
  return ok(w.bytes);
};

import { toHex, u16le, u32be } from './bytes';
import { crcHex } from './crc32';
import { EXTENSION_END, MIN_SUFFIX_SIZE, readExtension } from './module-prefix';
import type { ModuleExtension } from './types';

/** Bytes from the end of the file that the fixed suffix fields need (CRC back to product ID). */
export const SUFFIX_TAIL = 4 + 2 + 32 + 2 + 2 + 2;
/** A suffix of at least this size carries product ID and version. */
export const PRODUCT_SUFFIX_SIZE = MIN_SUFFIX_SIZE + 4;

export interface RawSuffix {
  suffixSize: number;
  fwUniqueId: string;
  reserved: number;
  productId: number;
  productVersion: number;
  storedCrc: string;
  extensions: ModuleExtension[];
  /** Why the suffix size field does not fit the file (product fields then come from the wrong bytes). */
  sizeProblem: string | undefined;
}

export type SuffixRead = { ok: true; suffix: RawSuffix } | { ok: false; reason: string };

/**
 * Why a suffix size field cannot describe the suffix of a file of `n` bytes whose prefix ends at
 * `prefixEnd`, or undefined when it can. A suffix is the 36 fixed bytes, or at least 40 with product
 * data and extension records, and lies between the prefix and the CRC. Particle's parser takes any
 * value; then the product ID it reports comes from bytes the module never meant as one.
 */
export const suffixSizeProblem = (n: number, suffixSize: number, prefixEnd: number): string | undefined => {
  const room = n - 4 - prefixEnd;
  if (suffixSize < MIN_SUFFIX_SIZE)
    return `the suffix size field says ${suffixSize} bytes, less than the ${MIN_SUFFIX_SIZE} bytes of the fixed suffix`;
  if (suffixSize > MIN_SUFFIX_SIZE && suffixSize < PRODUCT_SUFFIX_SIZE)
    return `the suffix size field says ${suffixSize} bytes, but a suffix is ${MIN_SUFFIX_SIZE} bytes without product data and at least ${PRODUCT_SUFFIX_SIZE} with it`;
  if (suffixSize > room)
    return `the suffix size field says ${suffixSize} bytes, but only ${room} bytes lie between the end of the module prefix and the CRC`;
  return undefined;
};

/**
 * Reads the suffix backwards from the end of the file: CRC (big-endian), suffix size, SHA-256,
 * reserved, product version, product ID. Product fields are -1 when the declared suffix is too
 * small to hold them; records between the declared suffix start and the fixed part are extensions,
 * walked only when the suffix size fits the file (`prefixEnd`: where the module prefix ends).
 * The caller guarantees the file holds at least SUFFIX_TAIL bytes.
 */
export const readSuffix = (b: Uint8Array, prefixEnd = 0): SuffixRead => {
  const n = b.length;
  const storedCrc = crcHex(u32be(b, n - 4));
  const suffixSize = u16le(b, n - 6);
  const fwUniqueId = toHex(b.subarray(n - 38, n - 6));
  const reserved = u16le(b, n - 40);
  let productVersion = u16le(b, n - 42);
  let productId = u16le(b, n - 44);
  if (suffixSize < PRODUCT_SUFFIX_SIZE) {
    productId = -1;
    productVersion = -1;
  }
  const extensions: ModuleExtension[] = [];
  const sizeProblem = suffixSizeProblem(n, suffixSize, prefixEnd);
  if (suffixSize > PRODUCT_SUFFIX_SIZE && !sizeProblem) {
    let o = n - 4 - suffixSize;
    while (o > 0 && o < n - 4 - MIN_SUFFIX_SIZE) {
      const r = readExtension(b, o);
      if (!r.ok) break;
      extensions.push(r.ext);
      if (r.ext.length === 0)
        return { ok: false, reason: `a suffix extension record at offset ${o} has length 0` };
      o += r.ext.length;
      if (r.ext.type === EXTENSION_END) break;
    }
  }
  return {
    ok: true,
    suffix: {
      suffixSize,
      fwUniqueId,
      reserved,
      productId,
      productVersion,
      storedCrc,
      extensions,
      sizeProblem,
    },
  };
};

/*
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one both Particle module suffixes and
 * DfuSe file suffixes use. Kept here rather than reaching for node:zlib so firmware parsing has no
 * runtime dependency and runs the same in any JavaScript engine (the demo and benchmarks too).
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Standard CRC-32 of `bytes[start, end)` (initial 0xFFFFFFFF, final complement). */
export const crc32 = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** 8 lower-case hex digits, the way Particle's tools print a CRC. */
export const crcHex = (value: number): string => (value >>> 0).toString(16).padStart(8, '0');

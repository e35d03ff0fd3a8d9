import { readFile, stat } from 'node:fs/promises';
import { toLsError } from '../errors/result';
import { sha256Hex } from './bytes';
import { isDfuse, parseDfuse } from './dfuse-file';
import { firmwareError, hex32 } from './errors';
import { parseModule } from './module-parser';
import { FLAG_DROP_MODULE_INFO, findPrefix, PREFIX_SIZE } from './module-prefix';
import type { FlashImage, InspectedFile, ModuleInfo } from './types';
import { fileProblems } from './validate-module';

export interface InspectOptions {
  /** Treat the file as a raw image to write at this address (CLI: `FILE@0xADDRESS`). */
  rawAddress?: number;
  /** How `file` and the messages name the file (default: the path), e.g. as the user typed it. */
  name?: string;
}

/** A module's bytes as DFU writes them: the whole file, minus the prefix when the module drops it. */
export const moduleImage = (label: string, bytes: Uint8Array, module: ModuleInfo, alt = 0): FlashImage => {
  const drop = module.flags & FLAG_DROP_MODULE_INFO;
  const skip = drop ? module.prefixOffset + PREFIX_SIZE : 0;
  return {
    label,
    alt,
    address: module.startAddress,
    data: bytes.subarray(skip),
    module,
    ...(drop ? { moduleBytes: bytes } : {}),
  };
};

const inspectUnsafe = (file: string, bytes: Uint8Array, options: InspectOptions): InspectedFile => {
  const base = { file, size: bytes.length, sha256: sha256Hex(bytes) };
  const label = file;
  if (options.rawAddress !== undefined) {
    const result: InspectedFile = {
      ...base,
      kind: 'raw',
      images:
        bytes.length > 0
          ? [
              {
                label: `${label}@${hex32(options.rawAddress)}`,
                alt: 0,
                address: options.rawAddress,
                data: bytes,
              },
            ]
          : [],
    };
    if (bytes.length === 0) result.error = firmwareError('FIRMWARE_EMPTY', `${file} is empty (0 bytes).`);
    return result;
  }
  if (isDfuse(bytes)) {
    const parsed = parseDfuse(file, bytes);
    if (!parsed.ok) return { ...base, kind: 'dfuse', images: [], error: parsed.error };
    const images = parsed.elements.map((e, i): FlashImage => {
      const elementLabel = `${label} [alt ${e.alt}${e.targetName ? ` ${e.targetName}` : ''}, element ${i + 1}]`;
      // An element that is a whole Particle module gets the module rules too (platform, product).
      if (e.data.length > 0 && findPrefix(e.data).score >= 7) {
        const m = parseModule(elementLabel, e.data);
        if (m.ok && m.module.startAddress === e.address)
          return moduleImage(elementLabel, e.data, m.module, e.alt);
      }
      return { label: elementLabel, alt: e.alt, address: e.address, data: e.data };
    });
    return { ...base, kind: 'dfuse', dfuse: parsed.info, images };
  }
  const parsed = parseModule(file, bytes);
  if (!parsed.ok) return { ...base, kind: 'module', images: [], error: parsed.error };
  return {
    ...base,
    kind: 'module',
    module: parsed.module,
    images: [moduleImage(label, bytes, parsed.module)],
  };
};

/**
 * Inspects firmware already in memory: a Particle module, a DfuSe file, or a raw image with an
 * address. Never throws; `error` holds the first problem with the file itself.
 */
export const inspectBytes = (
  file: string,
  bytes: Uint8Array,
  options: InspectOptions = {},
): InspectedFile => {
  let result: InspectedFile;
  try {
    result = inspectUnsafe(file, bytes, options);
  } catch (e) {
    // Parsing is bounds-checked throughout; this is the last net so one odd file never stops a batch.
    const error = toLsError(e, 'FIRMWARE_INTERNAL');
    return { file, size: bytes.length, sha256: '', kind: 'module', images: [], error };
  }
  if (!result.error) {
    const [first] = fileProblems(result);
    if (first) result.error = first;
  }
  return result;
};

/** Larger than any Particle device's flash (RTL872x: 8 MB internal). */
export const MAX_FILE_SIZE = 16 * 1024 * 1024;

/** Reads and inspects a file; an unreadable file comes back with FIRMWARE_UNREADABLE, never a throw. */
export const inspectFile = async (path: string, options: InspectOptions = {}): Promise<InspectedFile> => {
  let bytes: Uint8Array;
  try {
    const { size } = await stat(path);
    // No Particle flash is larger than 8 MB; refuse before reading a wrong multi-gigabyte file into memory.
    if (size > MAX_FILE_SIZE)
      return {
        file: options.name ?? path,
        size,
        sha256: '',
        kind: options.rawAddress !== undefined ? 'raw' : 'module',
        images: [],
        error: firmwareError(
          'FIRMWARE_TOO_LARGE',
          `${options.name ?? path} is ${size} bytes; no Particle device has room for more than ${MAX_FILE_SIZE} bytes, so it is not firmware for one.`,
          { size, maxSize: MAX_FILE_SIZE },
          'Check that this is the firmware file you meant to use.',
        ),
      };
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const name = options.name ?? path;
    return {
      file: name,
      size: 0,
      sha256: '',
      kind: options.rawAddress !== undefined ? 'raw' : 'module',
      images: [],
      error: firmwareError('FIRMWARE_UNREADABLE', `${name} cannot be read: ${reason}.`, { path }),
    };
  }
  return inspectBytes(options.name ?? path, bytes, options);
};

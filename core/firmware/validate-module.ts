import type { LsError } from '../errors/result';
import { type Platform, platformById } from '../platforms';
import { firmwareError, hex32 } from './errors';
import { unwritablePart } from './flash-layout';
import { functionName } from './module-parser';
import { FLAG_COMPRESSED, FLAG_ENCRYPTED, INTERNAL_FLASH_FUNCTION_CODES } from './module-prefix';
import type { FlashImage, InspectedFile, ModuleFunctionName, ModuleInfo, ProductTarget } from './types';

/** Functions whose modules live in the MCU's internal flash, so their addresses can be checked. */
const INTERNAL_FLASH_FUNCTIONS = new Set<ModuleFunctionName | number>(
  [...INTERNAL_FLASH_FUNCTION_CODES].map(functionName),
);
/** What a station writes over DFU; everything else goes through a normal-mode update. */
export const DFU_FUNCTIONS = new Set<ModuleFunctionName | number>(['bootloader', 'mono', 'system', 'user']);
/** Modules that carry the product ID of the application they hold. */
const PRODUCT_FUNCTIONS = new Set<ModuleFunctionName | number>(['user', 'mono']);

export const describeModule = (m: ModuleInfo): string => {
  const fn = typeof m.function === 'number' ? `function ${m.function}` : m.function;
  const part = m.function === 'system' || m.function === 'user' ? `${fn} part ${m.index}` : fn;
  return `${part} v${m.version} for ${m.platform ?? `platform ${m.platformId}`}`;
};

const range = (start: number, end: number): string => `${hex32(start)}–${hex32(end)}`;

/** Addresses and size against the platform's flash map (module end address = where the CRC sits). */
const regionProblems = (label: string, m: ModuleInfo, image: FlashImage, platform: Platform): LsError[] => {
  if (!INTERNAL_FLASH_FUNCTIONS.has(m.function)) return [];
  const { internalStart, internalEnd, userPart } = platform.flash;
  const imageEnd = image.address + image.data.length;
  const details = { start: m.startAddress, end: m.endAddress, platform: platform.name };
  if (image.address < internalStart || imageEnd > internalEnd)
    return [
      firmwareError(
        'FIRMWARE_OUT_OF_REGION',
        `${label}: the ${describeModule(m)} spans ${range(image.address, imageEnd)}, outside the ${platform.displayName}'s internal flash (${range(internalStart, internalEnd)}).`,
        details,
      ),
    ];
  if (m.function !== 'user') return [];
  const moduleEnd = m.endAddress + 4;
  const size = moduleEnd - m.startAddress;
  if (size > userPart.maxSize)
    return [
      firmwareError(
        'FIRMWARE_TOO_LARGE',
        `${label}: the user part is ${size} bytes; the ${platform.displayName} holds at most ${userPart.maxSize} bytes (${userPart.maxSize / 1024} KB).`,
        { ...details, size, maxSize: userPart.maxSize },
      ),
    ];
  if (userPart.growsDown && moduleEnd !== userPart.end)
    return [
      firmwareError(
        'FIRMWARE_OUT_OF_REGION',
        `${label}: a ${platform.displayName} user part grows down and must end at ${hex32(userPart.end)}, but this one ends at ${hex32(moduleEnd)}.`,
        details,
      ),
    ];
  if (m.startAddress < userPart.start || moduleEnd > userPart.end)
    return [
      firmwareError(
        'FIRMWARE_OUT_OF_REGION',
        `${label}: the user part spans ${range(m.startAddress, moduleEnd)}, outside the ${platform.displayName}'s user-part region (${range(userPart.start, userPart.end)}).`,
        details,
      ),
    ];
  return [];
};

/** Problems with a module itself, whatever product it is for: integrity, platform, flash map. */
export const moduleProblems = (label: string, m: ModuleInfo, image: FlashImage): LsError[] => {
  const problems: LsError[] = [];
  if (!m.crc.ok)
    problems.push(
      firmwareError(
        'FIRMWARE_CRC_MISMATCH',
        `${label}: the stored CRC-32 is ${m.crc.stored} but the file's is ${m.crc.actual}.`,
        { stored: m.crc.stored, actual: m.crc.actual },
      ),
    );
  if (!m.hash.ok)
    problems.push(
      firmwareError(
        'FIRMWARE_SHA_MISMATCH',
        `${label}: the SHA-256 stored in the module suffix does not match its contents.`,
        { stored: m.fwUniqueId, actual: m.hash.actual },
      ),
    );
  // Platform and addresses read from a prefix or suffix that contradicts the file mean nothing.
  if (m.identityError) return [...problems, m.identityError];
  const platform = platformById(m.platformId);
  if (!platform)
    problems.push(
      firmwareError(
        'FIRMWARE_UNKNOWN_PLATFORM',
        `${label} is built for platform ID ${m.platformId}, which this station does not know.`,
        { platformId: m.platformId },
      ),
    );
  else problems.push(...regionProblems(label, m, image, platform));
  return problems;
};

/** Every problem with the file itself (no product involved), first one first. */
export const fileProblems = (file: InspectedFile): LsError[] => {
  if (!file.module && !file.dfuse && file.images.length === 0) return file.error ? [file.error] : [];
  const problems: LsError[] = [];
  if (file.dfuse && !file.dfuse.crc.ok)
    problems.push(
      firmwareError(
        'DFUSE_CRC_MISMATCH',
        `${file.file}: the DFU suffix CRC is ${file.dfuse.crc.stored} but the file's is ${file.dfuse.crc.actual}.`,
        { stored: file.dfuse.crc.stored, actual: file.dfuse.crc.actual },
      ),
    );
  for (const image of file.images)
    if (image.module) problems.push(...moduleProblems(image.label, image.module, image));
  return problems;
};

const NORMAL_MODE_KINDS: Record<string, string> = {
  ncp: 'NCP (network co-processor) firmware',
  radio: 'A radio stack (SoftDevice)',
  asset: 'An asset',
  settings: 'A settings module',
  resource: 'A resource module',
  none: 'A module without a function',
};

/** Is this the product's firmware: its platform and, for applications, its product ID. */
export const identityProblems = (
  image: FlashImage,
  m: ModuleInfo,
  target: ProductTarget,
  wanted: string,
): LsError[] => {
  const problems: LsError[] = [];
  if (m.platformId !== target.platformId)
    problems.push(
      firmwareError(
        'FIRMWARE_WRONG_PLATFORM',
        `${image.label} is built for ${platformById(m.platformId)?.displayName ?? `platform ID ${m.platformId}`}, but the product is a ${wanted} product.`,
        { platformId: m.platformId, productPlatformId: target.platformId },
      ),
    );
  // Product 0 is no product: an engineer's bench flash (`linestation flash`) takes any application.
  if (target.productId !== 0 && PRODUCT_FUNCTIONS.has(m.function) && m.productId !== target.productId) {
    const why =
      m.productId === 0xffff || m.productId === -1
        ? 'is not a product build (it carries no product ID)'
        : `is built for product ${m.productId}`;
    problems.push(
      firmwareError(
        'FIRMWARE_WRONG_PRODUCT',
        `${image.label}: the application ${why}, but this station provisions product ${target.productId}.`,
        { productId: m.productId, expected: target.productId },
      ),
    );
  }
  return problems;
};

/** Can DFU write this module as it is: the right kind of module, neither compressed nor encrypted. */
const dfuModuleProblems = (image: FlashImage, m: ModuleInfo): LsError[] => {
  if (!DFU_FUNCTIONS.has(m.function)) {
    const kind =
      typeof m.function === 'number'
        ? `A module of unknown function ${m.function}`
        : (NORMAL_MODE_KINDS[m.function] ?? m.function);
    return [
      firmwareError(
        'FIRMWARE_NOT_DFU_MODULE',
        `${image.label} is ${describeModule(m)}. ${kind} is updated in normal mode, not over DFU.`,
        { function: m.function },
      ),
    ];
  }
  const problems: LsError[] = [];
  if (m.flags & FLAG_COMPRESSED)
    problems.push(
      firmwareError(
        'FIRMWARE_COMPRESSED',
        `${image.label} is compressed; only Device OS can unpack it, so it cannot be written over DFU.`,
      ),
    );
  if (m.flags & FLAG_ENCRYPTED)
    problems.push(
      firmwareError(
        'FIRMWARE_ENCRYPTED',
        `${image.label} is encrypted; only Device OS can decrypt it, so it cannot be written over DFU.`,
      ),
    );
  return problems;
};

/** Does the product platform's DFU memory map let us write every byte of the image. */
export const layoutProblems = (image: FlashImage, platform: Platform): LsError[] => {
  const blocked = unwritablePart(platform, image.alt, image.address, image.address + image.data.length);
  if (!blocked) return [];
  const details = { start: blocked.start, end: blocked.end, alt: image.alt };
  if (blocked.reason === 'outside')
    return [
      firmwareError(
        'FIRMWARE_OUT_OF_REGION',
        `${image.label}: ${range(blocked.start, blocked.end)} lies outside the ${platform.displayName}'s DFU memory map (alt ${image.alt}).`,
        details,
      ),
    ];
  return [
    firmwareError(
      'FIRMWARE_READ_ONLY_REGION',
      `${image.label}: ${range(blocked.start, blocked.end)} is read-only over DFU on the ${platform.displayName} (its bootloader protects it).`,
      details,
    ),
  ];
};

const productProblems = (
  image: FlashImage,
  target: ProductTarget,
  platform: Platform | undefined,
): LsError[] => {
  const m = image.module;
  // Refused already (fileProblems): its platform and product ID are not to be judged.
  if (m?.identityError) return [];
  const wanted = platform?.displayName ?? `platform ${target.platformId}`;
  const problems = m ? identityProblems(image, m, target, wanted) : [];
  // In OTA-on-setup mode nothing is written, so how DFU would write it does not matter.
  if (target.mode !== 'flash-on-line') return problems;
  if (m) problems.push(...dfuModuleProblems(image, m));
  // The memory map is the product platform's: only meaningful for images meant for it.
  if (platform && problems.length === 0) problems.push(...layoutProblems(image, platform));
  return problems;
};

/**
 * A file's own problems, an unknown product platform, then each image judged by `perImage`: the
 * frame shared by the DFU-only check below and the whole-set one (install-path.ts).
 */
export const validateImages = (
  file: InspectedFile,
  platformId: number,
  perImage: (image: FlashImage, platform: Platform | undefined) => LsError[],
): LsError[] => {
  const problems = fileProblems(file);
  const platform = platformById(platformId);
  if (!platform)
    problems.push(
      firmwareError(
        'FIRMWARE_UNKNOWN_PLATFORM',
        `The product's platform ID ${platformId} is not one this station knows.`,
        { platformId },
        'Check the product profile: its platform must be one of the Particle platforms in the table.',
      ),
    );
  for (const image of file.images) problems.push(...perImage(image, platform));
  return problems;
};

/**
 * Everything that stops this file from going to this product: the file's own problems, then
 * platform, product, and (when flashing on the line) whether DFU can write it at all.
 */
export const validateForProduct = (file: InspectedFile, target: ProductTarget): LsError[] =>
  validateImages(file, target.platformId, (image, platform) => productProblems(image, target, platform));

import type { LsError } from '../errors/result';
import { platformById } from '../platforms';
import { firmwareError, hex32 } from './errors';
import { checkDependencies } from './set-dependencies';
import type { FlashImage, InspectedFile, ModuleInfo, ProductTarget } from './types';
import { validateForProduct } from './validate-module';

/*
 * Gen 3 (nRF52840) devices kept a 128 KB user part at 0xD4000 before Device OS 3.1 and a 256 KB
 * one at 0xB4000 since. A device that still holds an old application would boot it; Particle CLI
 * therefore erases the first page of the old slot before writing a user part built for 3.1.3+.
 */
export const LEGACY_USER_PART_DEPENDENCY = 3103;
export const LEGACY_USER_PART_ERASE_SIZE = 4096;

const FLASH_ORDER: Record<string, number> = { bootloader: 0, mono: 1, system: 2, user: 3 };
const order = (image: FlashImage): [number, number] => {
  const m = image.module;
  if (!m) return [4, 0];
  return [FLASH_ORDER[String(m.function)] ?? 4, m.index];
};

/**
 * Two modules that fill the same slot: one application (whatever its index: Gen 3 moved it from
 * index 1 to 2), one module per function and index otherwise (the P2's prebootloader is
 * bootloader index 2 beside the bootloader's 0).
 */
export const slotKey = (m: ModuleInfo): string =>
  m.function === 'user' ? 'user' : `${String(m.function)}:${m.index}`;

const slotName = (m: ModuleInfo): string =>
  m.function === 'user'
    ? 'user part (application)'
    : m.function === 'system'
      ? `system part ${m.index}`
      : `${typeof m.function === 'number' ? `function ${m.function}` : m.function} module (index ${m.index})`;

const writesMcuFlash = (i: FlashImage): boolean =>
  !i.module || (typeof i.module.function === 'string' && MCU_FLASH_FUNCTIONS.has(i.module.function));
const MCU_FLASH_FUNCTIONS = new Set(['bootloader', 'mono', 'system', 'user', 'radio']);

/** Two files for one module slot, or two images that would write the same flash. */
export const duplicateAndOverlapProblems = (images: readonly FlashImage[]): LsError[] => {
  const problems: LsError[] = [];
  const seen = new Map<string, FlashImage>();
  const duplicates = new Set<FlashImage>();
  for (const image of images) {
    if (!image.module) continue;
    const key = slotKey(image.module);
    const first = seen.get(key);
    if (first) {
      duplicates.add(image);
      problems.push(
        firmwareError(
          'FIRMWARE_DUPLICATE_MODULE',
          `${image.label} and ${first.label} are both the ${slotName(image.module)}; a set holds one of each module.`,
          { slot: key },
        ),
      );
    } else seen.set(key, image);
  }
  // NCP firmware and assets are stored elsewhere (the NCP's flash, the file system): their
  // addresses say nothing about the MCU's flash.
  const byAlt = [...images]
    .filter((i) => !duplicates.has(i) && writesMcuFlash(i))
    .sort((a, b) => a.alt - b.alt || a.address - b.address);
  for (let i = 1; i < byAlt.length; i++) {
    const prev = byAlt[i - 1] as FlashImage;
    const cur = byAlt[i] as FlashImage;
    if (prev.alt === cur.alt && cur.address < prev.address + prev.data.length)
      problems.push(
        firmwareError(
          'FIRMWARE_OVERLAP',
          `${cur.label} (from ${hex32(cur.address)}) overlaps ${prev.label} (to ${hex32(prev.address + prev.data.length)}).`,
          { alt: cur.alt, address: cur.address },
        ),
      );
  }
  return problems;
};

const setProblems = (images: readonly FlashImage[], target: ProductTarget): LsError[] => {
  const problems = duplicateAndOverlapProblems(images);
  // Bootloader, radio stack and NCP dependencies the set does not carry come back as requirements
  // on the devices, which the DFU plan does not check: Device OS checks them at boot.
  const labelled = images.flatMap((i) => (i.module ? [{ label: i.label, module: i.module }] : []));
  problems.push(...checkDependencies(labelled, { deviceOsVersion: target.deviceOsVersion }).errors);
  return problems;
};

export const invalidatesLegacyUserPart = (m: ModuleInfo, legacyStart: number): boolean =>
  m.function === 'user' &&
  m.startAddress !== legacyStart &&
  m.dependencies.some((d) => d.function === 'system' && d.version >= LEGACY_USER_PART_DEPENDENCY);

/** The DFU write order: bootloader, system parts by index, user part, then raw images as given. */
export const flashPlan = (images: readonly FlashImage[], target: ProductTarget): FlashImage[] => {
  const sorted = images
    .map((image, i) => ({ image, i, key: order(image) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.i - b.i)
    .map((e) => e.image);
  const legacyStart = platformById(target.platformId)?.flash.userPart.legacyStart;
  if (legacyStart === undefined) return sorted;
  return sorted.flatMap((image) =>
    image.module && invalidatesLegacyUserPart(image.module, legacyStart)
      ? [
          {
            label: `erase the pre-3.1 user part at ${hex32(legacyStart)}`,
            alt: 0,
            address: legacyStart,
            data: new Uint8Array(LEGACY_USER_PART_ERASE_SIZE).fill(0xff),
          },
          image,
        ]
      : [image],
  );
};

/**
 * Validates the firmware set a batch will write: every file against the product, then the set as
 * a whole (duplicates, overlaps, dependencies). `plan` is what to write over DFU, in order; it is
 * empty in OTA-on-setup mode, where nothing is written. Write nothing unless `errors` is empty.
 */
export const validateSet = (
  files: InspectedFile[],
  target: ProductTarget,
): { errors: LsError[]; plan: FlashImage[] } => {
  const errors = files.flatMap((f) => validateForProduct(f, target));
  if (target.mode === 'ota-on-setup') return { errors, plan: [] };
  const images = files.flatMap((f) => f.images);
  if (images.length === 0 && errors.length === 0)
    errors.push(
      firmwareError(
        'FIRMWARE_SET_EMPTY',
        'The firmware set is empty: a product programmed on the line needs at least one image to write.',
      ),
    );
  errors.push(...setProblems(images, target));
  // The point of programming on the line is that the device works out of the box: the set must
  // carry the application, unless a raw or .dfu image (which cannot be read) might hold it.
  const hasApplication = images.some(
    (i) => !i.module || i.module.function === 'user' || i.module.function === 'mono',
  );
  if (images.length > 0 && !hasApplication)
    errors.push(
      firmwareError(
        'FIRMWARE_NO_APPLICATION',
        'The firmware set has no user part (application): a device programmed on the line would not run the product firmware.',
      ),
    );
  return { errors, plan: flashPlan(images, target) };
};

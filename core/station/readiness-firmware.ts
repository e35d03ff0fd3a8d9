import type { LsError } from '../errors/result';
import {
  type InspectedFile,
  inspectFile,
  type ProductTarget,
  validateForProduct,
  validateSet,
} from '../firmware/index';

/**
 * The firmware questions the checklist asks, as a seam: the checklist's own tests can drive
 * odd answers through it, and the station uses the real parser in core/firmware.
 */
export interface FirmwareChecker {
  inspect(absolutePath: string): Promise<InspectedFile>;
  /** Problems with one file for this product: damage, wrong platform, wrong product. */
  validateFile(file: InspectedFile, target: ProductTarget): LsError[];
  /** Problems with the set as a whole only: empty set, no user part, unmet dependencies, overlaps. */
  validateSet(files: readonly InspectedFile[], target: ProductTarget): LsError[];
}

const key = (e: LsError): string => `${e.code}\u0000${e.message}`;

export const defaultFirmwareChecker: FirmwareChecker = {
  inspect: (path) => inspectFile(path),
  validateFile: (file, target) => validateForProduct(file, target),
  validateSet: (files, target) => {
    // validateSet repeats every per-file problem; the checklist already lists those under
    // "matches the platform and product", so keep only what is about the set as a whole.
    const perFile = new Set(files.flatMap((f) => validateForProduct(f, target)).map(key));
    return validateSet([...files], target).errors.filter((e) => !perFile.has(key(e)));
  },
};

import type { LsError } from '../errors/result';
import { inspectFile, validateForProduct, validateSet } from '../firmware/index';
import type { InspectedFile, ProductTarget } from '../firmware/types';

/**
 * The three firmware questions the checklist asks, as a seam: the checklist's own tests can
 * drive odd answers through it, and the station uses the real parser in core/firmware.
 */
export interface FirmwareChecker {
  inspect(absolutePath: string): Promise<InspectedFile>;
  /** Problems with one file for this product: damage, wrong platform, wrong product. */
  validateFile(file: InspectedFile, target: ProductTarget): LsError[];
  /** Problems with the set as a whole: no user part, unmet dependencies, overlaps. */
  validateSet(files: readonly InspectedFile[], target: ProductTarget): LsError[];
}

export const defaultFirmwareChecker: FirmwareChecker = {
  inspect: (path) => inspectFile(path),
  validateFile: (file, target) => {
    const errors = validateForProduct(file, target);
    // A file that did not parse has its reason on the file itself; report it once.
    return file.error && !errors.some((e) => e.code === file.error?.code) ? [file.error, ...errors] : errors;
  },
  validateSet: (files, target) => validateSet([...files], target).errors,
};

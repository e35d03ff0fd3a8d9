import type { LsError } from '../errors/result';
import {
  type InspectedFile,
  inspectFile,
  type PlanTarget,
  planSet,
  type SetPlan,
  validateForPlan,
} from '../firmware/index';

/**
 * The firmware questions the checklist asks, as a seam: the checklist's own tests can drive
 * odd answers through it, and the station uses the real parser in core/firmware. The product is
 * judged as a whole-set install (normal mode and DFU, Particle's order), not as DFU alone.
 */
export interface FirmwareChecker {
  inspect(absolutePath: string): Promise<InspectedFile>;
  /** Problems with one file for this product: damage, wrong platform or product, a route that cannot take it. */
  validateFile(file: InspectedFile, target: PlanTarget): LsError[];
  /** Problems with the set as a whole only: empty set, no user part, unmet dependencies, overlaps. */
  validateSet(files: readonly InspectedFile[], target: PlanTarget): LsError[];
  /** The install plan the checklist shows; a checker without one shows none. */
  plan?(files: readonly InspectedFile[], target: PlanTarget): SetPlan;
}

const key = (e: LsError): string => `${e.code}\u0000${e.message}`;

export const defaultFirmwareChecker: FirmwareChecker = {
  inspect: (path) => inspectFile(path),
  validateFile: (file, target) => validateForPlan(file, target),
  validateSet: (files, target) => {
    // planSet repeats every per-file problem; the checklist already lists those under
    // "matches the platform and product", so keep only what is about the set as a whole.
    const perFile = new Set(files.flatMap((f) => validateForPlan(f, target)).map(key));
    return planSet(files, target).errors.filter((e) => !perFile.has(key(e)));
  },
  plan: (files, target) => planSet(files, target),
};

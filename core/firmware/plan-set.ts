import type { LsError } from '../errors/result';
import { type Platform, platformById } from '../platforms';
import { firmwareError, hex32 } from './errors';
import { type Route, routeFor, validateForPlan, wholeModule } from './install-path';
import { dfuWriteMs, modeSwitchMs, normalUpdateMs } from './install-timing';
import { parseModule } from './module-parser';
import { isProtectedModule, protectModule } from './protect';
import { checkDependencies, installedModule } from './set-dependencies';
import type {
  DfuPlanStep,
  FlashImage,
  InspectedFile,
  InstallPath,
  ModuleInfo,
  NormalPlanStep,
  PlanStep,
  PlanStepKind,
  PlanTarget,
  SetPlan,
} from './types';
import {
  duplicateAndOverlapProblems,
  invalidatesLegacyUserPart,
  LEGACY_USER_PART_ERASE_SIZE,
} from './validate-set';

/*
 * The whole-set install plan: every module of a Device OS set, each on its path, in Particle's
 * order (particle-cli src/lib/flash-helper.js `createFlashSteps`):
 * - modules sorted so that each comes after the modules of the set it depends on;
 * - a device not in DFU mode: normal-mode steps (bootloaders, NCP), then DFU steps (radio stack,
 *   system parts, user part), then assets;
 * - a device already in DFU mode: DFU steps first, so a device whose Device OS is broken is
 *   repaired before it is asked to run it, then normal-mode steps, then assets;
 * - assets always last, skipped when the device holds one with the same name and SHA-256.
 * Each step carries the model's expected duration (install-timing.ts).
 */

interface Entry {
  image: FlashImage;
  route: Route;
  order: number;
}

/** Within a path: bootloader before NCP; radio stack, monolithic, system parts by index, user part, raw images. */
const RANK: Record<PlanStepKind, number> = {
  bootloader: 0,
  ncp: 1,
  asset: 0,
  'radio-stack': 0,
  mono: 1,
  system: 2,
  'legacy-user-part': 3,
  user: 3,
  raw: 4,
};

const baseOrder = (a: Entry, b: Entry): number =>
  RANK[a.route.kind] - RANK[b.route.kind] ||
  (a.route.kind === 'system' ? (a.image.module?.index ?? 0) - (b.image.module?.index ?? 0) : 0) ||
  a.order - b.order;

const dependsOnAny = (e: Entry, others: readonly Entry[]): boolean =>
  (e.image.module?.dependencies ?? []).some(
    (d) =>
      d.function !== 'none' &&
      others.some(
        (o) => o !== e && o.image.module?.function === d.function && o.image.module.index === d.index,
      ),
  );

/**
 * A stable topological sort: the first entry (in base order) whose dependencies in the group are
 * all placed goes next. A cycle, which a sound set never has, falls back to the base order.
 */
const dependencySort = (entries: readonly Entry[]): Entry[] => {
  const left = [...entries].sort(baseOrder);
  const placed: Entry[] = [];
  while (left.length > 0) {
    const ready = left.findIndex((e) => !dependsOnAny(e, left));
    placed.push(...left.splice(Math.max(ready, 0), 1));
  }
  return placed;
};

const baseName = (label: string): string => label.split(/[\\/]/).pop() ?? label;

const skipFor = (
  module: ModuleInfo | undefined,
  kind: PlanStepKind,
  label: string,
  target: PlanTarget,
): PlanStep['skip'] => {
  if (!module) return undefined;
  // particle-cli `_skipAsset`: the same file name and the same content hash (the HASH record).
  if (kind === 'asset')
    return target.deviceAssets?.some((a) => a.name === baseName(label) && a.hash === module.contentHash)
      ? 'asset-present'
      : undefined;
  if (!target.skipWhenCurrent || !target.deviceModules) return undefined;
  const installed = installedModule(target.deviceModules, module);
  if (!installed || installed.version !== module.version) return undefined;
  // Same version is not enough where both hashes are known: a rebuilt module keeps its version.
  if (installed.hash && installed.hash.toLowerCase() !== module.fwUniqueId) return undefined;
  return 'current';
};

const dfuStep = (e: Entry, platform: Platform, target: PlanTarget): DfuPlanStep => {
  const { image, route } = e;
  const skip = skipFor(image.module, route.kind, image.label, target);
  return {
    path: 'dfu',
    kind: route.kind,
    image,
    module: image.module,
    expectedMs: skip ? 0 : dfuWriteMs(platform, image.address, image.data.length, image.alt),
    reason: route.reason,
    ...(skip ? { skip } : {}),
  };
};

/** The module a normal step sends: whole, and sealed as protected where the device needs it. */
const normalImage = (
  image: FlashImage,
  module: ModuleInfo,
  target: PlanTarget,
): { data: Uint8Array; module: ModuleInfo; sealed: boolean } => {
  const data = wholeModule(image);
  const needsSeal =
    target.deviceProtection &&
    module.function === 'bootloader' &&
    module.index === 0 &&
    !isProtectedModule(module);
  if (!needsSeal) return { data, module, sealed: false };
  const sealed = protectModule(image.label, data);
  // validateForPlan has already refused a bootloader that cannot be sealed; send nothing unsealed.
  if (!sealed.ok) return { data, module, sealed: false };
  const parsed = parseModule(image.label, sealed.value);
  return { data: sealed.value, module: parsed.ok ? parsed.module : module, sealed: true };
};

const normalStep = (e: Entry, platform: Platform, target: PlanTarget): NormalPlanStep | undefined => {
  const { image, route } = e;
  if (!image.module) return undefined;
  const sent = normalImage(image, image.module, target);
  const skip = skipFor(sent.module, route.kind, image.label, target);
  return {
    path: 'normal',
    kind: route.kind,
    image: { label: image.label, data: sent.data, module: sent.module },
    module: sent.module,
    expectedMs: skip
      ? 0
      : normalUpdateMs(platform, sent.module.function, sent.data.length, sent.module.startAddress),
    reason: sent.sealed
      ? `${route.reason.replace(/\.$/, '')}, sealed as protected for Device Protection.`
      : route.reason,
    ...(skip ? { skip } : {}),
    ...(sent.sealed ? { protected: true as const } : {}),
  };
};

/** Gen 3: the first page of the pre-3.1 user part, erased right before a user part built for 3.1.3+. */
const legacyStep = (user: DfuPlanStep, platform: Platform, legacyStart: number): DfuPlanStep => {
  const image: FlashImage = {
    label: `erase the pre-3.1 user part at ${hex32(legacyStart)}`,
    alt: 0,
    address: legacyStart,
    data: new Uint8Array(LEGACY_USER_PART_ERASE_SIZE).fill(0xff),
  };
  return {
    path: 'dfu',
    kind: 'legacy-user-part',
    image,
    module: undefined,
    expectedMs: user.skip ? 0 : dfuWriteMs(platform, legacyStart, image.data.length),
    reason: `Erases the first page of the pre-3.1 user part at ${hex32(legacyStart)}, so a device that kept an old application does not boot it.`,
    ...(user.skip ? { skip: user.skip } : {}),
  };
};

const dfuSteps = (entries: readonly Entry[], platform: Platform, target: PlanTarget): DfuPlanStep[] => {
  const legacyStart = platform.flash.userPart.legacyStart;
  return dependencySort(entries).flatMap((e) => {
    const step = dfuStep(e, platform, target);
    const m = e.image.module;
    return legacyStart !== undefined && m && invalidatesLegacyUserPart(m, legacyStart)
      ? [legacyStep(step, platform, legacyStart), step]
      : [step];
  });
};

/** Steps not skipped, plus a mode switch wherever the path changes and a reset after a final DFU step. */
const totalMs = (steps: readonly PlanStep[], platform: Platform, alreadyInDfu: boolean): number => {
  let mode: InstallPath = alreadyInDfu ? 'dfu' : 'normal';
  let ms = 0;
  for (const step of steps) {
    if (step.skip) continue;
    if (step.path !== mode) ms += modeSwitchMs(platform);
    mode = step.path;
    ms += step.expectedMs;
  }
  return mode === 'dfu' && steps.some((s) => s.path === 'dfu' && !s.skip) ? ms + modeSwitchMs(platform) : ms;
};

const setLevelProblems = (images: readonly FlashImage[], perFile: readonly LsError[]): LsError[] => {
  const problems: LsError[] = [];
  if (images.length === 0 && perFile.length === 0)
    problems.push(
      firmwareError(
        'FIRMWARE_SET_EMPTY',
        'The firmware set is empty: a product programmed on the line needs at least one image to write.',
      ),
    );
  problems.push(...duplicateAndOverlapProblems(images));
  // The point of programming on the line is that the device works out of the box: the set must
  // carry the application, unless a raw or .dfu image (which cannot be read) might hold it.
  const hasApplication = images.some(
    (i) => !i.module || i.module.function === 'user' || i.module.function === 'mono',
  );
  if (images.length > 0 && !hasApplication)
    problems.push(
      firmwareError(
        'FIRMWARE_NO_APPLICATION',
        'The firmware set has no user part (application): a device programmed on the line would not run the product firmware.',
      ),
    );
  return problems;
};

/**
 * Plans installing a whole firmware set on one product's devices: every file checked for the
 * product and its route, the set checked as a whole (duplicates, overlaps, dependencies against
 * the set and, when known, the device), then the steps in Particle's order. The steps are there
 * even when `errors` is not empty, so a refusal can show what would have been done; write nothing
 * unless `errors` is empty. In OTA-on-setup mode nothing is written, so there are no steps.
 */
export const planSet = (files: readonly InspectedFile[], target: PlanTarget): SetPlan => {
  const errors = files.flatMap((f) => validateForPlan(f, target));
  if (target.mode === 'ota-on-setup') return { steps: [], errors, requires: [], expectedMs: 0 };
  const images = files.flatMap((f) => f.images);
  errors.push(...setLevelProblems(images, errors));
  const labelled = images.flatMap((i) => (i.module ? [{ label: i.label, module: i.module }] : []));
  const deps = checkDependencies(labelled, {
    deviceOsVersion: target.deviceOsVersion,
    deviceModules: target.deviceModules,
  });
  errors.push(...deps.errors);
  const platform = platformById(target.platformId);
  if (!platform) return { steps: [], errors, requires: deps.requires, expectedMs: 0 };

  const entries: Entry[] = [];
  for (const [order, image] of images.entries()) {
    const route = routeFor(image, platform);
    // A module with no route on this platform is refused above and has no step.
    if ('path' in route) entries.push({ image, route, order });
  }
  const normal = dependencySort(entries.filter((e) => e.route.path === 'normal' && e.route.kind !== 'asset'));
  const assets = dependencySort(entries.filter((e) => e.route.kind === 'asset'));
  const toNormal = (list: readonly Entry[]) => list.flatMap((e) => normalStep(e, platform, target) ?? []);
  const dfu = dfuSteps(
    entries.filter((e) => e.route.path === 'dfu'),
    platform,
    target,
  );
  const steps = target.alreadyInDfu
    ? [...dfu, ...toNormal(normal), ...toNormal(assets)]
    : [...toNormal(normal), ...dfu, ...toNormal(assets)];
  return {
    steps,
    errors,
    requires: deps.requires,
    expectedMs: totalMs(steps, platform, !!target.alreadyInDfu),
  };
};

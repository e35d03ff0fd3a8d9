import type { LsError } from '../errors/result';
import type { Platform } from '../platforms';
import { firmwareError } from './errors';
import { FLAG_COMPRESSED, FLAG_DROP_MODULE_INFO, FLAG_ENCRYPTED } from './module-prefix';
import { hasNcp, hasRadioStack, unpacksCompressedModules } from './platform-modules';
import { isProtectedModule, protectModule } from './protect';
import type { FlashImage, InspectedFile, InstallPath, ModuleInfo, PlanStepKind, PlanTarget } from './types';
import { describeModule, identityProblems, layoutProblems, validateImages } from './validate-module';

/*
 * Which way each module of a whole Device OS set reaches the device, as Particle's tools decide it
 * (particle-cli src/lib/flash-helper.js `createFlashSteps`): bootloaders on every platform, NCP
 * firmware ("externalMcu" storage) and assets through a normal-mode firmware update; the radio
 * stack, system parts, the application and raw images over DFU. Then the refusals a whole set
 * needs beyond the DFU rules: an NCP file for a platform without one, compression the receiving
 * side cannot undo, and Device Protection's minimum versions and protected bootloaders.
 */

/** particle-cli `maintainDeviceProtection`: what a protected device still accepts. */
export const PROTECTED_MINIMUM_SYSTEM_VERSION = 6101;
export const PROTECTED_MINIMUM_BOOTLOADER_VERSION = 3001;

export interface Route {
  path: InstallPath;
  kind: PlanStepKind;
  reason: string;
}

const dfuRoute = (kind: PlanStepKind, reason: string): Route => ({ path: 'dfu', kind, reason });
const normalRoute = (kind: PlanStepKind, reason: string): Route => ({ path: 'normal', kind, reason });

const notInstallable = (image: FlashImage, m: ModuleInfo, why: string): LsError =>
  firmwareError('FIRMWARE_MODULE_NOT_INSTALLABLE', `${image.label} is ${describeModule(m)}; ${why}.`, {
    function: m.function,
  });

/** The path a module takes, or why it takes none on this platform. */
export const routeFor = (image: FlashImage, platform: Platform): Route | LsError => {
  const m = image.module;
  if (!m) return dfuRoute('raw', 'A raw image or .dfu element is written over DFU where its file says.');
  switch (m.function) {
    case 'bootloader':
      return normalRoute(
        'bootloader',
        "Bootloaders go in normal mode, as Particle's tools send them (the Gen 2 and Gen 3 DFU layouts mark them read-only).",
      );
    case 'ncp':
      if (!hasNcp(platform))
        return firmwareError(
          'FIRMWARE_NO_NCP',
          `${image.label} is NCP firmware, but the ${platform.displayName} has no NCP (network co-processor) to take it.`,
          { platformId: platform.id },
        );
      return normalRoute(
        'ncp',
        'NCP firmware goes to the network co-processor through Device OS, in normal mode.',
      );
    case 'asset':
      return normalRoute('asset', 'Assets are stored by Device OS in normal mode, after everything else.');
    case 'radio':
      if (!hasRadioStack(platform))
        return notInstallable(image, m, `the ${platform.displayName} keeps no radio stack module`);
      return dfuRoute(
        'radio-stack',
        m.flags & FLAG_DROP_MODULE_INFO
          ? 'The radio stack (SoftDevice) is written over DFU at its start address, without its module prefix (DROP_MODULE_INFO).'
          : 'The radio stack (SoftDevice) is written over DFU at its start address.',
      );
    case 'system':
      return dfuRoute('system', `System part ${m.index} is written over DFU.`);
    case 'user':
      return dfuRoute('user', 'The application (user part) is written over DFU.');
    case 'mono':
      return dfuRoute('mono', 'Monolithic firmware is written over DFU.');
    default:
      return notInstallable(image, m, 'the station installs no module of this kind');
  }
};

/** Can the receiving side take the module's bytes: DFU writes them as they are, Device OS unpacks some. */
const encodingProblems = (image: FlashImage, m: ModuleInfo, route: Route, platform: Platform): LsError[] => {
  const problems: LsError[] = [];
  if (m.flags & FLAG_COMPRESSED) {
    if (route.path === 'dfu')
      problems.push(
        firmwareError(
          'FIRMWARE_COMPRESSED',
          `${image.label} is compressed; only Device OS can unpack it, so it cannot be written over DFU.`,
        ),
      );
    else if (!unpacksCompressedModules(platform))
      problems.push(
        firmwareError(
          'FIRMWARE_COMPRESSED',
          `${image.label} is compressed, and Device OS on the ${platform.displayName} cannot unpack a compressed module.`,
          undefined,
          'Use the uncompressed module binary.',
        ),
      );
  }
  if (m.flags & FLAG_ENCRYPTED)
    problems.push(
      firmwareError(
        'FIRMWARE_ENCRYPTED',
        route.path === 'dfu'
          ? `${image.label} is encrypted; only Device OS can decrypt it, so it cannot be written over DFU.`
          : `${image.label} is encrypted; Particle's tools do not send encrypted modules over USB, and neither does the station.`,
        undefined,
        'Use the unencrypted module binary.',
      ),
    );
  return problems;
};

/** The whole module file behind an image (a DROP_MODULE_INFO image leaves the prefix out). */
export const wholeModule = (image: FlashImage): Uint8Array => image.moduleBytes ?? image.data;

/** Device Protection: a protected device takes no older modules; an open product takes no protected bootloader. */
const protectionProblems = (image: FlashImage, m: ModuleInfo, target: PlanTarget): LsError[] => {
  if (m.function === 'bootloader' && isProtectedModule(m) && !target.deviceProtection)
    return [
      firmwareError(
        'FIRMWARE_PROTECTED_BOOTLOADER',
        `${image.label} is a protected bootloader (SECURITY_MODE protected), but the product does not declare Device Protection: it would protect every device it reaches.`,
      ),
    ];
  if (!target.deviceProtection) return [];
  const below = (what: string, minimum: number) =>
    firmwareError(
      'FIRMWARE_BELOW_PROTECTION_MINIMUM',
      `${image.label} is ${what} v${m.version}; a device under Device Protection takes no ${what} below v${minimum} (Device OS 6.1.1).`,
      { version: m.version, minimum },
    );
  if (m.function === 'system' && m.version < PROTECTED_MINIMUM_SYSTEM_VERSION)
    return [below(`system part ${m.index}`, PROTECTED_MINIMUM_SYSTEM_VERSION)];
  // Index 0 only, as particle-cli: the P2 family's prebootloader (index 2) keeps its own numbering.
  if (m.function === 'bootloader' && m.index === 0) {
    if (m.version < PROTECTED_MINIMUM_BOOTLOADER_VERSION)
      return [below('bootloader', PROTECTED_MINIMUM_BOOTLOADER_VERSION)];
    const sealed = protectModule(image.label, wholeModule(image));
    if (!sealed.ok) return [sealed.error];
  }
  return [];
};

/** Everything that stops one image from going to the device by its route, for this product. */
const imageProblems = (image: FlashImage, target: PlanTarget, platform: Platform | undefined): LsError[] => {
  const m = image.module;
  // Refused already (fileProblems): its platform and product ID are not to be judged.
  if (m?.identityError) return [];
  const wanted = platform?.displayName ?? `platform ${target.platformId}`;
  const identity = m ? identityProblems(image, m, target, wanted) : [];
  // In OTA-on-setup mode nothing is written; on another platform's module nothing else means anything.
  if (target.mode !== 'flash-on-line' || identity.length > 0 || !platform) return identity;
  const route = routeFor(image, platform);
  if (!('path' in route)) return [route];
  const problems = m
    ? [...encodingProblems(image, m, route, platform), ...protectionProblems(image, m, target)]
    : [];
  // The DFU memory map is only meaningful for what goes over DFU.
  if (route.path === 'dfu' && problems.length === 0) problems.push(...layoutProblems(image, platform));
  return problems;
};

/**
 * Everything that stops this file from being installed on this product's devices as part of a
 * whole set: the file's own problems, platform and product, then whether its route can take it.
 * The whole-set counterpart of `validateForProduct`, which judges DFU alone.
 */
export const validateForPlan = (file: InspectedFile, target: PlanTarget): LsError[] =>
  validateImages(file, target.platformId, (image, platform) => imageProblems(image, target, platform));

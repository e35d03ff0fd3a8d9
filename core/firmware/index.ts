/*
 * Firmware files for the station: Particle module binaries, DfuSe .dfu files and raw images;
 * their inspection, validation against a product, the DFU flash plan of a set, and the whole-set
 * install plan (normal mode and DFU, Particle's order, dependencies, Device Protection).
 */
export { buildDfuse, buildModule, patternBytes } from './builder';
export { crc32, crcHex } from './crc32';
export { parseDfuse } from './dfuse-file';
export { FIRMWARE_ERRORS, type FirmwareErrorCode } from './errors';
export { type InspectOptions, inspectBytes, inspectFile } from './inspect';
export {
  PROTECTED_MINIMUM_BOOTLOADER_VERSION,
  PROTECTED_MINIMUM_SYSTEM_VERSION,
  routeFor,
  validateForPlan,
} from './install-path';
export { dfuWriteMs, modeSwitchMs, normalUpdateMs } from './install-timing';
export { parseModule } from './module-parser';
export { planSet } from './plan-set';
export { formatDuration, planSummary, stepLine } from './plan-text';
export {
  isProtectedModule,
  protectModule,
  SECURITY_MODE_EXTENSION,
  SECURITY_MODE_OPEN,
  SECURITY_MODE_PROTECTED,
} from './protect';
export { type FileArgument, parseFileArgument } from './raw-file';
export { checkDependencies, installedModule } from './set-dependencies';
export type {
  DeviceRequirement,
  DfuPlanStep,
  DfuseElement,
  DfuseInfo,
  DfuseSpec,
  DfuseTarget,
  FileKind,
  FlashImage,
  InspectedFile,
  InstalledAsset,
  InstalledModule,
  InstallPath,
  ModuleDependency,
  ModuleExtension,
  ModuleFunctionName,
  ModuleInfo,
  ModuleSpec,
  NormalModuleImage,
  NormalPlanStep,
  PlanStep,
  PlanStepKind,
  PlanTarget,
  ProductTarget,
  ProgrammingMode,
  SetPlan,
} from './types';
export { MODULE_FUNCTIONS } from './types';
export { describeModule, fileProblems, validateForProduct } from './validate-module';
export { flashPlan, LEGACY_USER_PART_DEPENDENCY, validateSet } from './validate-set';

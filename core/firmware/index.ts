/*
 * Firmware files for the station: Particle module binaries, DfuSe .dfu files and raw images;
 * their inspection, validation against a product, and the DFU flash plan of a set.
 */
export { buildDfuse, buildModule, patternBytes } from './builder';
export { crc32, crcHex } from './crc32';
export { parseDfuse } from './dfuse-file';
export { FIRMWARE_ERRORS, type FirmwareErrorCode } from './errors';
export { type InspectOptions, inspectBytes, inspectFile } from './inspect';
export { parseModule } from './module-parser';
export {
  isProtectedModule,
  protectModule,
  SECURITY_MODE_EXTENSION,
  SECURITY_MODE_OPEN,
  SECURITY_MODE_PROTECTED,
} from './protect';
export { type FileArgument, parseFileArgument } from './raw-file';
export type {
  DfuseElement,
  DfuseInfo,
  DfuseSpec,
  DfuseTarget,
  FileKind,
  FlashImage,
  InspectedFile,
  ModuleDependency,
  ModuleExtension,
  ModuleFunctionName,
  ModuleInfo,
  ModuleSpec,
  ProductTarget,
  ProgrammingMode,
} from './types';
export { MODULE_FUNCTIONS } from './types';
export { describeModule, fileProblems, validateForProduct } from './validate-module';
export { flashPlan, LEGACY_USER_PART_DEPENDENCY, validateSet } from './validate-set';

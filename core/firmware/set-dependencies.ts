import type { LsError } from '../errors/result';
import { firmwareError } from './errors';
import type { DeviceRequirement, InstalledModule, ModuleDependency, ModuleInfo } from './types';

/*
 * Whether every module's dependencies hold once the set is installed: met by a module the set
 * carries, else by what the device already runs. What the device runs comes from GET_MODULE_INFO
 * at identify; before that (a profile check, `inspect --set`) only the stated Device OS version is
 * known, so a bootloader, radio stack or NCP the set needs but does not carry becomes a
 * requirement every device must meet rather than a refusal.
 */

export interface DependencySources {
  /** The system module version the devices run, as the profile or `--device-os` states it. */
  readonly deviceOsVersion?: number | undefined;
  /** What this device reports it runs; when given, it decides instead of `deviceOsVersion`. */
  readonly deviceModules?: readonly InstalledModule[] | undefined;
}

export interface LabelledModule {
  readonly label: string;
  readonly module: ModuleInfo;
}

export interface DependencyCheck {
  errors: LsError[];
  requires: DeviceRequirement[];
}

export const dependencyLabel = (d: Pick<ModuleDependency, 'function' | 'index'>): string =>
  d.function === 'system' ? `system part ${d.index}` : `${String(d.function)} ${d.index}`;

/**
 * The device's module for a dependency: same function and index; failing that, its only module of
 * that function (a file's index and the device's numbering can differ, e.g. Gen 3 user parts).
 */
export const installedModule = (
  modules: readonly InstalledModule[],
  d: Pick<ModuleDependency, 'function' | 'index'>,
): InstalledModule | undefined => {
  const same = modules.filter((m) => m.function === d.function);
  return same.find((m) => m.index === d.index) ?? (same.length === 1 ? same[0] : undefined);
};

type Verdict = { error: LsError } | { requirement: true } | undefined;

const judge = (
  label: string,
  m: ModuleInfo,
  d: ModuleDependency,
  set: readonly LabelledModule[],
  sources: DependencySources,
): Verdict => {
  if (d.function === 'none') return undefined;
  const providers = set.filter(
    (p) => p.module !== m && p.module.function === d.function && p.module.index === d.index,
  );
  if (providers.some((p) => p.module.version >= d.version)) return undefined;
  const what = dependencyLabel(d);
  const details = { dependency: d, deviceOsVersion: sources.deviceOsVersion };
  if (providers.length > 0) {
    const have = Math.max(...providers.map((p) => p.module.version));
    return {
      error: firmwareError(
        'FIRMWARE_DEPENDENCY_UNMET',
        `${label} needs ${what} v${d.version} or later, but the set holds v${have}.`,
        details,
      ),
    };
  }
  if (sources.deviceModules) {
    const installed = installedModule(sources.deviceModules, d);
    if (installed && installed.version >= d.version) return undefined;
    const runs = installed ? `the device runs v${installed.version}` : `the device reports no ${what}`;
    return {
      error: firmwareError(
        'FIRMWARE_DEVICE_DEPENDENCY_UNMET',
        `${label} needs ${what} v${d.version} or later; the set does not include it and ${runs}.`,
        { ...details, installed: installed?.version },
      ),
    };
  }
  if (d.function === 'system') {
    if (sources.deviceOsVersion !== undefined && sources.deviceOsVersion >= d.version) return undefined;
    const stated =
      sources.deviceOsVersion === undefined
        ? 'no Device OS version is stated for the devices'
        : `the devices run Device OS module version ${sources.deviceOsVersion}`;
    return {
      error: firmwareError(
        'FIRMWARE_DEPENDENCY_UNMET',
        `${label} needs ${what} v${d.version} or later; the set does not include it and ${stated}.`,
        details,
      ),
    };
  }
  if (d.function === 'user')
    return {
      error: firmwareError(
        'FIRMWARE_DEPENDENCY_UNMET',
        `${label} needs user part ${d.index} v${d.version} or later, which the set does not include.`,
        details,
      ),
    };
  // A bootloader, radio stack or NCP the set does not carry: each device must have it already,
  // which only the device can say (MODULE_INFO at identify).
  return { requirement: true };
};

const requirementMessage = (r: Omit<DeviceRequirement, 'message'>): string =>
  `Every device must already run ${dependencyLabel(r)} v${r.version} or later: ${r.neededBy.join(', ')} ${
    r.neededBy.length === 1 ? 'needs' : 'need'
  } it and the set does not include it.`;

export const checkDependencies = (
  set: readonly LabelledModule[],
  sources: DependencySources,
): DependencyCheck => {
  const errors: LsError[] = [];
  const needs = new Map<string, Omit<DeviceRequirement, 'message'>>();
  for (const { label, module: m } of set)
    for (const d of m.dependencies) {
      const verdict = judge(label, m, d, set, sources);
      if (!verdict) continue;
      if ('error' in verdict) {
        errors.push(verdict.error);
        continue;
      }
      const key = `${String(d.function)}:${d.index}`;
      const known = needs.get(key);
      if (!known)
        needs.set(key, { function: d.function, index: d.index, version: d.version, neededBy: [label] });
      else {
        known.version = Math.max(known.version, d.version);
        if (!known.neededBy.includes(label)) known.neededBy.push(label);
      }
    }
  const requires = [...needs.values()].map((r) => ({ ...r, message: requirementMessage(r) }));
  return { errors, requires };
};

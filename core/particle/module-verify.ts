import { err, ok, type Result } from '../errors/result';
import type { ModuleFunctionName } from '../firmware/types';
import type { DeviceModule } from './requests';
import type { UpdateErrorCode } from './update-errors';

/*
 * Whether a module the device reports after its reboot is the one we sent. FINISH only says the
 * device accepted the upload; the install happens afterwards (NCP before the reset, system parts
 * and bootloaders by the bootloader during it), so the module is verified only when GET_MODULE_INFO
 * shows it at the new version, with every validity check it ran passed (checked ^ passed == 0), and
 * with the SHA-256 from its suffix where the device reports one.
 */

export interface ExpectedModule {
  readonly function: ModuleFunctionName | number;
  readonly index: number;
  readonly version: number;
  /** The SHA-256 stored in the module's suffix (`ModuleInfo.fwUniqueId`), 64 hex characters. */
  readonly sha256?: string | undefined;
}

/**
 * `matched`: the device reports the same SHA-256. `not-reported`: it sends none (Device OS before
 * 5.6, or an empty field). `not-comparable`: there is nothing meaningful to compare: the file has
 * no real hash, or the module is NCP firmware, for which Device OS reports its version repeated in
 * the hash field rather than a hash (hal/network/ncp: "NCP firmware should return some kind of a
 * unique string/hash... For now we simply fill the SHA field with version").
 */
export type HashCheck = 'matched' | 'not-reported' | 'not-comparable';

export interface ModuleCheck {
  readonly module: DeviceModule;
  readonly hashCheck: HashCheck;
}

const FLAG_NAMES: readonly [number, string][] = [
  [0x02, 'integrity'],
  [0x04, 'dependencies'],
  [0x08, 'address range'],
  [0x10, 'platform'],
];

export const failedCheckNames = (flags: number): string[] =>
  FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);

const meaningless = (hex: string | undefined): boolean =>
  !hex || /^0+$/.test(hex) || /^f+$/i.test(hex) || !/^[0-9a-f]{64}$/i.test(hex);

const fnText = (fn: ModuleFunctionName | number): string =>
  typeof fn === 'number' ? `module function ${fn}` : fn === 'ncp' ? 'NCP firmware' : `${fn} module`;

/**
 * The device's entry for the module: same function and index; failing that, the only module of
 * that function (a file's prefix index and the device's numbering can differ, e.g. Gen 3 user parts).
 */
export const findModule = (
  modules: readonly DeviceModule[],
  expected: Pick<ExpectedModule, 'function' | 'index'>,
): DeviceModule | undefined => {
  const same = modules.filter((m) => m.function === expected.function);
  return same.find((m) => m.index === expected.index) ?? (same.length === 1 ? same[0] : undefined);
};

export const verifyInstalledModule = (
  modules: readonly DeviceModule[],
  expected: ExpectedModule,
  context: { previousVersion?: number | undefined } = {},
): Result<ModuleCheck, UpdateErrorCode> => {
  const what = `${fnText(expected.function)} ${expected.index}`;
  const details = {
    function: expected.function,
    index: expected.index,
    expectedVersion: expected.version,
    ...(context.previousVersion !== undefined ? { previousVersion: context.previousVersion } : {}),
  };
  const found = findModule(modules, expected);
  if (!found)
    return err(
      'DEVICE_UPDATE_NOT_APPLIED',
      `The device restarted but does not list the ${what} it was sent: the update was not applied.`,
      {
        remedy:
          'Retry the update; if it is not applied again, install this module over DFU or set the device aside.',
        details: { ...details, reported: modules.map((m) => `${m.function}:${m.index}@${m.version}`) },
      },
    );
  if (found.version !== expected.version) {
    const still = found.version === context.previousVersion;
    return err(
      'DEVICE_UPDATE_NOT_APPLIED',
      still
        ? `The device restarted with the ${what} still at version ${found.version}, not ${expected.version}: the update was not applied.`
        : `The device restarted with the ${what} at version ${found.version}, not the ${expected.version} it was sent: the update was not applied.`,
      {
        remedy:
          'Retry the update; if the version stays the same, the device refuses the module quietly (check its dependencies) or install it over DFU.',
        details: { ...details, foundVersion: found.version },
      },
    );
  }
  if (!found.valid) {
    const failed = failedCheckNames(found.failedFlags ?? 0);
    return err(
      'DEVICE_UPDATE_MODULE_INVALID',
      `The ${what} is at version ${found.version}, but the device's own checks fail for it${failed.length ? ` (${failed.join(', ')})` : ''}.`,
      {
        remedy:
          'Install the modules it depends on (a dependencies failure), or send the module again; if it stays invalid, set the device aside.',
        details: { ...details, failedFlags: found.failedFlags, failedChecks: failed },
      },
    );
  }
  if (expected.function === 'ncp' || meaningless(expected.sha256))
    return ok({ module: found, hashCheck: 'not-comparable' });
  if (meaningless(found.hash)) return ok({ module: found, hashCheck: 'not-reported' });
  if ((found.hash as string).toLowerCase() !== (expected.sha256 as string).toLowerCase())
    return err(
      'DEVICE_UPDATE_HASH_MISMATCH',
      `The ${what} is at version ${found.version}, but its SHA-256 on the device is not the one of the file that was sent.`,
      {
        remedy:
          'Another build with the same version is on the device. Send the module again; check that the product profile points at the intended file.',
        details: { ...details, expectedSha256: expected.sha256, deviceSha256: found.hash },
      },
    );
  return ok({ module: found, hashCheck: 'matched' });
};

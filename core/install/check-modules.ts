import { type LsError, LsFailure } from '../errors/result';
import type { SetPlan } from '../firmware/types';
import type { DeviceModule } from '../particle/requests';

const failWith = (e: LsError): never => {
  throw new LsFailure(e);
};

/**
 * The device's own word on what it runs, after the install: every module of the plan (written or
 * skipped as current) must be there at its version and pass the device's own checks (integrity,
 * dependencies, platform). Readback proved the bytes; this proves the device accepted them. A
 * module the device does not list (old Device OS, raw images) is not judged here.
 */
export const checkInstalledModules = (plan: SetPlan, reported: readonly DeviceModule[]): void => {
  for (const step of plan.steps) {
    const want = step.module;
    if (!want || typeof want.function !== 'string' || step.kind === 'asset') continue;
    const got = reported.find((m) => m.function === want.function && m.index === want.index);
    if (!got) continue;
    if (!got.valid)
      failWith({
        code: 'MODULE_INVALID',
        message: `The device rejected the ${want.function} part ${want.index} that was written (version ${got.version}): it failed the device's own integrity or dependency check.`,
        remedy:
          'Check that the device runs the Device OS the firmware needs (linestation inspect FILE); call an engineer if it persists.',
      });
    if (got.version !== want.version)
      failWith({
        code: 'MODULE_VERSION_MISMATCH',
        message: `The device reports ${want.function} part ${want.index} at version ${got.version}; ${want.version} was written.`,
      });
    // Where the device reports a hash (Device OS 5.6+; never for NCP, whose field holds its version),
    // it must be the module's own: a same-version module built differently is not the locked one.
    if (got.hash && want.function !== 'ncp' && want.fwUniqueId && got.hash !== want.fwUniqueId.toLowerCase())
      failWith({
        code: 'MODULE_HASH_MISMATCH',
        message: `The device reports ${want.function} part ${want.index} with SHA-256 ${got.hash.slice(0, 16)}…; the locked module's is ${want.fwUniqueId.slice(0, 16)}….`,
        remedy: 'Set the device aside and call an engineer: it runs a different build of this version.',
      });
  }
};

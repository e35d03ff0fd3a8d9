import type { LsError } from '../errors/result';
import { planSet } from '../firmware/plan-set';
import type { InspectedFile, PlanTarget, SetPlan } from '../firmware/types';
import type { DeviceState } from './device-state';

export interface DevicePlan {
  /** The plan to install: write nothing unless `plan.errors` is empty. */
  readonly plan: SetPlan;
  /**
   * Dependencies that could not be checked before writing: a device in DFU mode cannot list what
   * it runs. Not a refusal, because the device checks every module itself at boot and the confirm
   * step reads MODULE_INFO back: a module it rejects fails as MODULE_INVALID, never a PASS.
   */
  readonly unchecked: readonly LsError[];
}

/**
 * Plans the set for one device as it presented itself at identify: what it runs (normal mode),
 * whether it is in DFU mode (Particle's repair order), whether it is protected.
 */
export const planForDevice = (
  files: readonly InspectedFile[],
  product: PlanTarget,
  device: { readonly inDfu: boolean; readonly state: DeviceState; readonly skipWhenCurrent: boolean },
): DevicePlan => {
  const plan = planSet(files, {
    ...product,
    deviceModules: device.state.modules,
    deviceAssets: device.state.assets,
    alreadyInDfu: device.inDfu,
    deviceProtection: product.deviceProtection || device.state.protection === 'protected',
    skipWhenCurrent: device.skipWhenCurrent,
  });
  const unknowable =
    device.inDfu && device.state.modules === undefined && product.deviceOsVersion === undefined;
  if (!unknowable) return { plan, unchecked: [] };
  const unchecked = plan.errors.filter((e) => e.code === 'FIRMWARE_DEPENDENCY_UNMET');
  return { plan: { ...plan, errors: plan.errors.filter((e) => !unchecked.includes(e)) }, unchecked };
};

import type { ModuleView, ProfileView, ProfileWithReadiness } from '../contract/views';
import {
  type InspectedFile,
  MODULE_FUNCTIONS,
  type ModuleDependency,
  type ModuleInfo,
} from '../firmware/types';
import { platformByName } from '../platforms/index';
import type { LoadedProfile } from '../station/profile';
import type { ReadinessReport } from '../station/readiness';

const kindName = (fn: ModuleDependency['function']): string =>
  typeof fn === 'number' ? (MODULE_FUNCTIONS[fn] ?? `function-${fn}`) : fn;

export const moduleView = (m: ModuleInfo, size: number): ModuleView => ({
  kind: kindName(m.function),
  index: m.index,
  version: m.version,
  platformId: m.platformId,
  // -1: the suffix holds no product fields; 0xFFFF: a non-product build.
  ...(m.productId >= 0 && m.productId !== 0xffff
    ? { productId: m.productId, productVersion: m.productVersion }
    : {}),
  size,
  dependencies: m.dependencies
    .filter((d) => kindName(d.function) !== 'none')
    .map((d) => ({ kind: kindName(d.function), index: d.index, version: d.version })),
});

/** The modules a file holds: one for a module binary, one per image for a .dfu file. */
export const modulesOf = (file: InspectedFile): ModuleView[] => {
  if (file.module) return [moduleView(file.module, file.size)];
  return file.images.flatMap((img) => (img.module ? [moduleView(img.module, img.data.length)] : []));
};

export const profileView = (loaded: LoadedProfile, report: ReadinessReport): ProfileView => {
  const p = loaded.profile;
  const platform = platformByName(p.platform);
  return {
    path: loaded.path,
    ...(p.organization ? { organization: p.organization } : {}),
    product: { id: p.product.id, name: p.product.name, ...(p.product.slug ? { slug: p.product.slug } : {}) },
    platform: platform
      ? { name: platform.name, id: platform.id, displayName: platform.displayName }
      : { name: p.platform },
    ...(p.provisioningMode ? { provisioningMode: p.provisioningMode } : {}),
    ...(p.customerAuth ? { customerAuth: p.customerAuth } : {}),
    ...(p.privateBeta !== undefined ? { privateBeta: p.privateBeta } : {}),
    ...(p.registration ? { registration: p.registration } : {}),
    ...(p.development !== undefined ? { development: p.development } : {}),
    groups: p.groups,
    readback: p.verification.readback,
    slotCount: p.slots.count,
    slotLabels: p.slots.labels,
    firmware: report.files.map((f) => {
      const modules = f.inspected ? modulesOf(f.inspected) : [];
      return {
        path: f.status.path,
        ...(f.status.pinned ? { pinnedSha256: f.status.pinned } : {}),
        ...(f.status.actual ? { actualSha256: f.status.actual } : {}),
        state: f.status.state,
        ...(modules[0] ? { module: modules[0] } : {}),
        modules,
      };
    }),
    locked: report.integrity.locked,
    tampered: report.integrity.tampered,
    ...(p.lock ? { lockedAt: p.lock.lockedAt } : {}),
    profileHash: report.integrity.actualHash,
  };
};

export const profileWithReadiness = (
  loaded: LoadedProfile,
  report: ReadinessReport,
): ProfileWithReadiness => ({
  profile: profileView(loaded, report),
  readiness: report.readiness,
});

import type { Readiness, ReadinessItem, ReadinessStatus } from '../contract/views';
import type { LsError } from '../errors/result';
import { planSummary, stepLine } from '../firmware/plan-text';
import type { InspectedFile, PlanTarget, SetPlan } from '../firmware/types';
import { platformByName } from '../platforms/index';
import type { LoadedProfile } from './profile';
import { checkIntegrity, type FirmwareFileStatus, type IntegrityReport } from './profile-integrity';
import { defaultFirmwareChecker, type FirmwareChecker } from './readiness-firmware';

/**
 * The readiness checklist: the questions Particle says must be settled before manufacturing,
 * plus the checks that make a station refuse to flash the wrong thing. The station starts a
 * batch only when every item is ok; a pending or unknown item is not ok.
 */

export type ReleasedFirmwareAnswer = 'released' | 'none' | 'unknown';

export interface ReadinessOptions {
  /** Where the registration token variable is looked up (never the token in the profile). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The cloud engineer's check that the product has a released default firmware. */
  readonly releasedFirmwareCheck?: () => Promise<ReleasedFirmwareAnswer>;
  readonly firmware?: FirmwareChecker;
  readonly now?: () => Date;
}

export interface CheckedFirmwareFile {
  readonly status: FirmwareFileStatus;
  /** Undefined when the file could not be read. */
  readonly inspected: InspectedFile | undefined;
}

export interface ReadinessReport {
  readonly readiness: Readiness;
  readonly integrity: IntegrityReport;
  readonly files: readonly CheckedFirmwareFile[];
  /** The whole-set install plan the firmware-set item shows (flash on the line, every file readable). */
  readonly plan?: SetPlan | undefined;
}

/** Item ids are stable: tests, the UI and logs refer to them. */
export const READINESS_ITEM_IDS = [
  'questions',
  'platform',
  'firmware-files',
  'firmware-product',
  'firmware-set',
  'registration',
  'locked',
] as const;

const item = (
  id: string,
  title: string,
  status: ReadinessStatus,
  message: string,
  extra: { remedy?: string; details?: string[] } = {},
): ReadinessItem => ({
  id,
  title,
  ok: status === 'ok',
  status,
  message,
  ...(extra.remedy ? { remedy: extra.remedy } : {}),
  details: extra.details ?? [],
});

const describeError = (e: LsError): string => `${e.code}: ${e.message}`;

const questionsItem = (loaded: LoadedProfile): ReadinessItem => {
  const p = loaded.profile;
  const missing: string[] = [];
  if (!p.organization) missing.push('organization');
  if (!p.provisioningMode) missing.push('programming mode (flash on the line or OTA on setup)');
  if (!p.customerAuth) missing.push('customer authentication');
  if (p.privateBeta === undefined) missing.push('private beta (yes or no)');
  if (!p.registration) missing.push('registration (cloud or explicitly offline)');
  if (p.development === undefined) missing.push('development devices (yes or no)');
  return missing.length === 0
    ? item('questions', 'Every setup question is answered', 'ok', 'All setup questions are answered.')
    : item(
        'questions',
        'Every setup question is answered',
        'fail',
        `Not answered yet: ${missing.join(', ')}.`,
        {
          remedy: 'Answer them with "linestation profile init" or edit the profile.',
          details: missing,
        },
      );
};

const platformItem = (loaded: LoadedProfile): ReadinessItem => {
  const title = 'The platform is one we can build';
  const platform = platformByName(loaded.profile.platform);
  if (!platform)
    return item(
      'platform',
      title,
      'fail',
      `"${loaded.profile.platform}" is not a Particle platform this station knows.`,
      {
        remedy: 'Use a short platform name such as boron, bsom, p2, msom or tracker.',
      },
    );
  if (platform.deprecated)
    return item(
      'platform',
      title,
      'fail',
      `${platform.displayName} is deprecated; Particle products cannot use it.`,
      {
        remedy: 'Choose a current platform for the product.',
      },
    );
  return item('platform', title, 'ok', `${platform.displayName} (platform ${platform.id}).`);
};

const filesItem = (loaded: LoadedProfile, integrity: IntegrityReport): ReadinessItem => {
  const title = 'Firmware files are present and pinned';
  const files = integrity.files;
  if (files.length === 0) {
    return loaded.profile.provisioningMode === 'ota-on-setup'
      ? item(
          'firmware-files',
          title,
          'ok',
          'No firmware is flashed on the line: devices update over the air on setup.',
        )
      : item('firmware-files', title, 'fail', 'The profile lists no firmware files.', {
          remedy: 'Add the product firmware (at least the user part) to the profile.',
        });
  }
  const changed = files.filter((f) => f.state === 'changed');
  const missing = files.filter((f) => f.state === 'missing' || f.state === 'unreadable');
  const unpinned = files.filter((f) => f.state === 'unpinned');
  if (changed.length > 0)
    return item(
      'firmware-files',
      title,
      'fail',
      `TAMPERED: ${changed.map((f) => f.path).join(', ')} changed on disk since ${changed.length === 1 ? 'its hash was' : 'their hashes were'} pinned. The station refuses to flash it.`,
      {
        remedy:
          'Restore the original file, or have an engineer review the new one and lock the profile again.',
        details: changed.map((f) => `${f.path}: pinned ${f.pinned}, now ${f.actual}`),
      },
    );
  if (missing.length > 0)
    return item(
      'firmware-files',
      title,
      'fail',
      `Missing or unreadable: ${missing.map((f) => f.path).join(', ')}.`,
      {
        remedy: 'Put the firmware files next to the profile, at the paths it lists.',
        details: missing.map((f) => `${f.path}: ${f.state} (${f.absolutePath})`),
      },
    );
  if (unpinned.length > 0)
    return item(
      'firmware-files',
      title,
      'fail',
      `Not pinned yet: ${unpinned.map((f) => f.path).join(', ')}.`,
      {
        remedy: 'Lock the profile to pin the firmware hashes.',
        details: unpinned.map((f) => `${f.path}: ${f.actual}`),
      },
    );
  return item(
    'firmware-files',
    title,
    'ok',
    `${files.length} file${files.length === 1 ? '' : 's'}, every hash matches its pin.`,
    {
      details: files.map((f) => `${f.path}: ${f.actual}`),
    },
  );
};

/** The product as a plan sees it before any device is known: no device modules, not in DFU. */
const productTarget = (loaded: LoadedProfile): PlanTarget | undefined => {
  const platform = platformByName(loaded.profile.platform);
  if (!platform) return undefined;
  return {
    platformId: platform.id,
    productId: loaded.profile.product.id,
    mode: loaded.profile.provisioningMode ?? 'flash-on-line',
    ...(loaded.profile.deviceOsVersion ? { deviceOsVersion: loaded.profile.deviceOsVersion } : {}),
    ...(loaded.profile.deviceProtection ? { deviceProtection: true } : {}),
  };
};

const relabel = (f: InspectedFile, status: FirmwareFileStatus): InspectedFile => {
  const rename = (label: string) =>
    label.startsWith(status.absolutePath) ? status.path + label.slice(status.absolutePath.length) : label;
  return { ...f, file: rename(f.file), images: f.images.map((i) => ({ ...i, label: rename(i.label) })) };
};

/**
 * Runs the checklist. Never throws for a bad profile or bad firmware: every problem becomes a
 * failing item with a reason and a remedy.
 */
export const checkReadiness = async (
  loaded: LoadedProfile,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> => {
  const firmware = options.firmware ?? defaultFirmwareChecker;
  const env = options.env ?? process.env;
  const p = loaded.profile;
  const integrity = await checkIntegrity(loaded);

  const files: CheckedFirmwareFile[] = await Promise.all(
    integrity.files.map(async (status) => ({
      status,
      inspected:
        status.state === 'missing' || status.state === 'unreadable'
          ? undefined
          : await firmware.inspect(status.absolutePath),
    })),
  );

  const items: ReadinessItem[] = [questionsItem(loaded), platformItem(loaded), filesItem(loaded, integrity)];
  const target = productTarget(loaded);
  const readable = files.flatMap((f) => (f.inspected ? [f.inspected] : []));
  // The set's findings and plan name each file as the profile lists it, not by its absolute path.
  const asListed = files.flatMap((f) => (f.inspected ? [relabel(f.inspected, f.status)] : []));

  // Platform and product match, file by file.
  {
    const title = 'Firmware matches the platform and product';
    if (!target) {
      items.push(item('firmware-product', title, 'unknown', 'Cannot check until the platform is known.'));
    } else if (files.length === 0) {
      items.push(
        item('firmware-product', title, items[2]?.ok ? 'ok' : 'fail', 'No firmware files to check.'),
      );
    } else {
      const problems: string[] = [];
      let firstRemedy: string | undefined;
      for (const f of files) {
        if (!f.inspected) {
          problems.push(`${f.status.path}: cannot be read`);
          continue;
        }
        const errors = firmware.validateFile(f.inspected, target);
        for (const e of errors) {
          problems.push(`${f.status.path}: ${describeError(e)}`);
          firstRemedy ??= e.remedy;
        }
      }
      items.push(
        problems.length === 0
          ? item(
              'firmware-product',
              title,
              'ok',
              `Every file is built for platform ${target.platformId} and product ${target.productId}.`,
            )
          : item(
              'firmware-product',
              title,
              'fail',
              `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems[0]}`,
              {
                // The first problem's own remedy: a damaged file and a wrong product need different fixes.
                remedy:
                  firstRemedy ??
                  'Use firmware built for this product and platform (check the product ID in the build).',
                details: problems,
              },
            ),
      );
    }
  }

  // Completeness (flash on the line) or the cloud's released firmware (OTA on setup).
  let plan: SetPlan | undefined;
  if (p.provisioningMode === 'ota-on-setup') {
    const title = 'The product has a released default firmware in the cloud';
    const base = 'OTA on setup only works when the product has a released default firmware.';
    let answer: ReleasedFirmwareAnswer | 'not-checked' = 'not-checked';
    if (options.releasedFirmwareCheck) {
      try {
        answer = await options.releasedFirmwareCheck();
      } catch {
        answer = 'unknown';
      }
    }
    items.push(
      answer === 'released'
        ? item('firmware-set', title, 'ok', 'The cloud reports a released default firmware for the product.')
        : answer === 'none'
          ? item('firmware-set', title, 'fail', `${base} The cloud reports none.`, {
              remedy: 'Release a product firmware in the Particle Console before starting the line.',
            })
          : answer === 'unknown'
            ? item('firmware-set', title, 'unknown', `${base} The cloud could not be asked.`, {
                remedy: 'Check the network and the token, then check again.',
              })
            : item('firmware-set', title, 'pending', `${base} Confirm it in the Particle Console.`, {
                remedy: 'Release a product firmware in the Particle Console before starting the line.',
              }),
    );
  } else {
    const title = 'The firmware set is complete';
    if (!p.provisioningMode) {
      items.push(
        item('firmware-set', title, 'unknown', 'Cannot check until the programming mode is answered.'),
      );
    } else if (!target) {
      items.push(item('firmware-set', title, 'unknown', 'Cannot check until the platform is known.'));
    } else if (readable.length < files.length || files.length === 0) {
      items.push(
        item(
          'firmware-set',
          title,
          'fail',
          'Cannot check completeness: some firmware files are missing or unreadable.',
        ),
      );
    } else {
      const errors = firmware.validateSet(asListed, target);
      plan = firmware.plan?.(asListed, target);
      // A device programmed on the line must work out of the box, so the set needs an application.
      const hasUserPart = readable.some((f) =>
        f.images.some((img) => img.module?.function === 'user' || f.module?.function === 'user'),
      );
      if (!hasUserPart)
        errors.unshift({
          code: 'FIRMWARE_NO_USER_PART',
          message:
            'The set has no user part (application); a device flashed on the line must work out of the box.',
          remedy: "Add the product's application binary to the profile.",
        });
      // What the devices must already run is no fault of the set: each device is checked at identify.
      const requires = plan?.requires.map((r) => r.message) ?? [];
      items.push(
        errors.length === 0
          ? item(
              'firmware-set',
              title,
              'ok',
              `A user part is present and every dependency is met.${plan ? ` Plan: ${planSummary(plan)}.` : ''}`,
              { details: [...(plan?.steps.map((st, i) => stepLine(st, i + 1)) ?? []), ...requires] },
            )
          : item('firmware-set', title, 'fail', describeError(errors[0] as LsError), {
              remedy: errors[0]?.remedy ?? 'Add the missing modules to the profile.',
              details: [...errors.map(describeError), ...requires],
            }),
      );
    }
  }

  {
    const title = 'Registration is configured';
    const r = p.registration;
    if (!r)
      items.push(
        item('registration', title, 'fail', 'Not answered: register to the cloud, or explicitly offline.', {
          remedy: 'Set registration to cloud (with --cloud and --token-env) or to offline.',
        }),
      );
    else if (r.mode === 'offline')
      items.push(
        item(
          'registration',
          title,
          'ok',
          'Offline: device IDs are queued and registered later with "linestation sync".',
        ),
      );
    else if (!env[r.tokenEnv])
      items.push(
        item('registration', title, 'fail', `The token variable ${r.tokenEnv} is not set on this station.`, {
          remedy: `Set ${r.tokenEnv} to a Particle API token with the devices:import scope before starting.`,
        }),
      );
    else items.push(item('registration', title, 'ok', `To ${r.apiBaseUrl} with the token in ${r.tokenEnv}.`));
  }

  {
    const title = 'The profile is locked';
    if (!integrity.locked)
      items.push(
        item('locked', title, 'fail', 'The profile is not locked: what would be flashed is not signed off.', {
          remedy: 'When every other item is ok, lock it with "linestation profile lock".',
        }),
      );
    else if (integrity.tampered)
      items.push(
        item(
          'locked',
          title,
          'fail',
          `TAMPERED: ${integrity.problems[0]?.message ?? 'the profile changed since it was locked.'}`,
          {
            remedy: integrity.problems[0]?.remedy ?? 'Have an engineer review and lock the profile again.',
            details: integrity.problems.map(describeError),
          },
        ),
      );
    else items.push(item('locked', title, 'ok', `Locked on ${p.lock?.lockedAt}; nothing changed since.`));
  }

  const now = (options.now ?? (() => new Date()))();
  return {
    readiness: { ready: items.every((i) => i.ok), items, checkedAt: now.toISOString() },
    integrity,
    files,
    plan,
  };
};

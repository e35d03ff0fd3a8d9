import { err, type LsError, ok, type Result } from '../errors/result';
import { type LoadedProfile, saveProfile } from './profile';
import { firmwareStatuses, profileHash } from './profile-integrity';
import type { Profile } from './profile-schema';
import { checkReadiness, type ReadinessOptions, type ReadinessReport } from './readiness';

export type LockErrorCode =
  | 'PROFILE_NOT_LOCKABLE'
  | 'PROFILE_TAMPERED'
  | 'FIRMWARE_MISSING'
  | 'FIRMWARE_CHANGED'
  | 'PROFILE_WRITE_FAILED'
  | 'PROFILE_INVALID'
  | 'PROFILE_VERSION_UNSUPPORTED'
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_UNREADABLE'
  | 'PROFILE_NOT_JSON';

export interface LockOptions extends ReadinessOptions {
  /**
   * Lock again a profile that is already locked but changed (an engineer reviewed the change).
   * Without it a tampered profile is refused, so nobody re-signs a change by accident.
   */
  readonly relock?: boolean;
}

export interface LockOutcome {
  readonly loaded: LoadedProfile;
  /** False when the profile was already locked and unchanged (locking is idempotent). */
  readonly changed: boolean;
  readonly report: ReadinessReport;
}

/** Items that may stay open while locking: the lock itself, and the cloud's answer for OTA. */
const MAY_BE_OPEN_AT_LOCK = new Set(['locked']);

/**
 * Locks a profile: pins every firmware file's current SHA-256, then records the profile hash
 * over the canonical profile. Refuses when the checklist (apart from the lock itself and the
 * cloud's release check, which can only be answered online) is not all ok, because a lock is
 * the engineer's sign-off that this is exactly what the line builds.
 */
export const lockProfile = async (
  loaded: LoadedProfile,
  options: LockOptions & { now?: () => Date } = {},
): Promise<Result<LockOutcome, LockErrorCode>> => {
  const before = await checkReadiness(loaded, options);
  if (before.integrity.locked && !before.integrity.tampered)
    return ok({ loaded, changed: false, report: before });
  if (before.integrity.tampered && !options.relock) {
    const first = before.integrity.problems[0] as LsError;
    return err('PROFILE_TAMPERED', `${first.message} Refusing to lock over it.`, {
      remedy: 'Review the change; to accept it, lock again with --relock.',
      details: { problems: before.integrity.problems.map((p) => p.message) },
    });
  }

  const statuses = await firmwareStatuses(loaded);
  const missing = statuses.filter((s) => s.actual === undefined);
  if (missing.length > 0)
    return err('FIRMWARE_MISSING', `Cannot lock: ${missing.map((s) => s.path).join(', ')} cannot be read.`, {
      remedy: 'Put the firmware files next to the profile, at the paths it lists.',
    });
  // A pin that differs from the file was set by someone on purpose; only --relock overrides it.
  const drifted = statuses.filter((s) => s.state === 'changed');
  if (drifted.length > 0 && !options.relock)
    return err(
      'FIRMWARE_CHANGED',
      `Cannot lock: ${drifted.map((s) => s.path).join(', ')} no longer match${drifted.length === 1 ? 'es' : ''} the pinned hash.`,
      { remedy: 'Restore the pinned file, or review the new one and lock with --relock.' },
    );

  const pinned: Profile = {
    ...loaded.profile,
    firmware: loaded.profile.firmware.map((entry, i) => ({ ...entry, sha256: statuses[i]?.actual })),
    lock: undefined,
  };
  // Check the pinned, unlocked form: every item but the lock itself must pass before signing.
  const candidate: LoadedProfile = { ...loaded, profile: pinned };
  const check = await checkReadiness(candidate, options);
  const blocking = check.readiness.items.filter(
    (i) => !i.ok && !MAY_BE_OPEN_AT_LOCK.has(i.id) && !(i.id === 'firmware-set' && i.status === 'pending'),
  );
  if (blocking.length > 0)
    return err(
      'PROFILE_NOT_LOCKABLE',
      `Cannot lock until the checklist passes: ${blocking.map((i) => `${i.title}: ${i.message}`).join(' ')}`,
      {
        remedy: 'Fix the failing items (see "linestation profile check"), then lock.',
        details: { items: blocking.map((i) => i.id) },
      },
    );

  const now = (options.now ?? (() => new Date()))();
  const { lock: _none, ...unlocked } = pinned;
  const locked: Profile = {
    ...unlocked,
    lock: { profileHash: profileHash(pinned), lockedAt: now.toISOString() },
  };
  const saved = await saveProfile(loaded.path, locked);
  if (!saved.ok) return saved;
  const after = await checkReadiness(saved.value, options);
  return ok({ loaded: saved.value, changed: true, report: after });
};

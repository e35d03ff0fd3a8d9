import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { LsError } from '../errors/result';
import { firmwarePath, type LoadedProfile } from './profile';
import type { Profile } from './profile-schema';

/**
 * JSON with object keys sorted at every level: the same profile always hashes the same,
 * however an editor reordered its keys or its whitespace.
 */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

/**
 * What the hash covers: the profile without its lock block. Fields added to schema version 1
 * after profiles were locked with it (deviceProtection, station.skipWhenCurrent, identity) count
 * only when they differ from their default, so a profile locked before they existed keeps its
 * hash, and setting one changes it.
 */
const hashedForm = (profile: Profile): Record<string, unknown> => {
  const { lock: _lock, deviceProtection, station, identity, ...rest } = profile;
  const { skipWhenCurrent, ...stationRest } = station;
  // `identity: {}` or `requireSerial: false` asks for nothing more than no identity block.
  const required = Object.fromEntries(Object.entries(identity ?? {}).filter(([, v]) => v === true));
  return {
    ...rest,
    station: { ...stationRest, ...(skipWhenCurrent ? { skipWhenCurrent } : {}) },
    ...(deviceProtection ? { deviceProtection } : {}),
    ...(Object.keys(required).length > 0 ? { identity: required } : {}),
  };
};

/**
 * The profile hash: SHA-256 over the canonical profile without its lock block. The firmware
 * entries' pinned hashes are part of that form, so the hash covers the firmware bytes too.
 */
export const profileHash = (profile: Profile): string =>
  createHash('sha256')
    .update(canonicalJson(hashedForm(profile)))
    .digest('hex');

export const sha256File = (path: string): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });

export type FirmwareFileState = 'match' | 'unpinned' | 'changed' | 'missing' | 'unreadable';

export interface FirmwareFileStatus {
  readonly path: string;
  readonly absolutePath: string;
  readonly pinned: string | undefined;
  /** Hash of the bytes on disk now; undefined when the file cannot be read. */
  readonly actual: string | undefined;
  readonly state: FirmwareFileState;
}

/** Hashes every firmware file of the profile and compares it with its pinned hash. */
export const firmwareStatuses = async (loaded: LoadedProfile): Promise<FirmwareFileStatus[]> =>
  Promise.all(
    loaded.profile.firmware.map(async (entry): Promise<FirmwareFileStatus> => {
      const absolutePath = firmwarePath(loaded, entry.path);
      let actual: string | undefined;
      let state: FirmwareFileState;
      try {
        actual = await sha256File(absolutePath);
        state = entry.sha256 === undefined ? 'unpinned' : entry.sha256 === actual ? 'match' : 'changed';
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        state = code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable';
      }
      return { path: entry.path, absolutePath, pinned: entry.sha256, actual, state };
    }),
  );

export interface IntegrityReport {
  readonly locked: boolean;
  /** A locked profile whose text or firmware changed since it was locked. */
  readonly tampered: boolean;
  /** One LsError per reason it is tampered (PROFILE_TAMPERED / FIRMWARE_CHANGED / FIRMWARE_MISSING). */
  readonly problems: readonly LsError[];
  readonly expectedHash: string | undefined;
  readonly actualHash: string;
  readonly files: readonly FirmwareFileStatus[];
}

/**
 * Checks a profile against its lock. Any difference is tampering: the station must refuse to
 * provision from it, because what would be flashed is no longer what an engineer signed off.
 */
export const checkIntegrity = async (loaded: LoadedProfile): Promise<IntegrityReport> => {
  const files = await firmwareStatuses(loaded);
  const actualHash = profileHash(loaded.profile);
  const lock = loaded.profile.lock;
  const problems: LsError[] = [];
  if (lock) {
    if (lock.profileHash !== actualHash)
      problems.push({
        code: 'PROFILE_TAMPERED',
        message: `The profile ${loaded.path} was edited after it was locked (its hash no longer matches the lock).`,
        remedy: 'Restore the locked profile, or have an engineer review and lock it again.',
        details: { expected: lock.profileHash, actual: actualHash },
      });
    for (const f of files) {
      if (f.state === 'changed' || f.state === 'unpinned')
        problems.push({
          code: 'FIRMWARE_CHANGED',
          message: `Firmware file ${f.path} changed on disk after the profile was locked.`,
          remedy: 'Restore the original file, or have an engineer review the new one and lock again.',
          details: { path: f.absolutePath, pinned: f.pinned, actual: f.actual },
        });
      else if (f.state === 'missing' || f.state === 'unreadable')
        problems.push({
          code: f.state === 'missing' ? 'FIRMWARE_MISSING' : 'FIRMWARE_UNREADABLE',
          message: `Firmware file ${f.path} of the locked profile is ${f.state === 'missing' ? 'missing' : 'unreadable'}.`,
          remedy: 'Restore the file next to the profile.',
          details: { path: f.absolutePath },
        });
    }
  }
  return {
    locked: lock !== undefined,
    tampered: problems.length > 0,
    problems,
    expectedHash: lock?.profileHash,
    actualHash,
    files,
  };
};

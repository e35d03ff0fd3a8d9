import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { err, ok, type Result } from '../errors/result';
import { PROFILE_SCHEMA_VERSION, type Profile, type ProfileInput, profileSchema } from './profile-schema';

export type ProfileErrorCode =
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_UNREADABLE'
  | 'PROFILE_NOT_JSON'
  | 'PROFILE_VERSION_UNSUPPORTED'
  | 'PROFILE_INVALID'
  | 'PROFILE_WRITE_FAILED';

/** A profile together with where it came from: firmware paths are relative to `dir`. */
export interface LoadedProfile {
  readonly path: string;
  readonly dir: string;
  readonly profile: Profile;
}

/** Turns zod issues into sentences that name the field, e.g. `product.id: must be a positive integer`. */
export const describeIssues = (issues: readonly z.core.$ZodIssue[]): string[] =>
  issues.map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `${where}: ${issue.message}`;
  });

/** Validates an already-parsed JSON value as a profile; `source` names it in messages. */
export const parseProfile = (value: unknown, source: string): Result<Profile, ProfileErrorCode> => {
  if (value && typeof value === 'object' && 'schemaVersion' in value) {
    const v = (value as { schemaVersion: unknown }).schemaVersion;
    if (typeof v === 'number' && v !== PROFILE_SCHEMA_VERSION)
      return err(
        'PROFILE_VERSION_UNSUPPORTED',
        `${source} is a version ${v} profile; this station reads version ${PROFILE_SCHEMA_VERSION}.`,
        {
          remedy:
            v > PROFILE_SCHEMA_VERSION
              ? 'Update linestation on this station.'
              : 'Recreate the profile with "linestation profile init".',
          details: { schemaVersion: v },
        },
      );
  }
  const parsed = profileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues);
    return err('PROFILE_INVALID', `${source} is not a valid product profile: ${problems.join('; ')}.`, {
      remedy: 'Correct the listed fields, or recreate the profile with "linestation profile init".',
      details: { problems },
    });
  }
  return ok(parsed.data);
};

export const loadProfile = async (path: string): Promise<Result<LoadedProfile, ProfileErrorCode>> => {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return err('PROFILE_NOT_FOUND', `There is no product profile at ${abs}.`, {
        remedy: 'Check the path, or create one with "linestation profile init".',
        details: { path: abs },
      });
    return err('PROFILE_UNREADABLE', `The product profile ${abs} could not be read (${code ?? String(e)}).`, {
      remedy: 'Check the file permissions.',
      details: { path: abs },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return err('PROFILE_NOT_JSON', `${abs} is not JSON: ${(e as Error).message}.`, {
      remedy: 'Fix the JSON syntax (a trailing comma or a missing quote is the usual cause).',
      details: { path: abs },
    });
  }
  const parsed = parseProfile(json, abs);
  if (!parsed.ok) return parsed;
  return ok({ path: abs, dir: dirname(abs), profile: parsed.value });
};

/**
 * Writes the profile atomically (temporary file, then rename) so a crash never leaves half a
 * profile on the line. Defaults are written out in full so the file documents every setting.
 */
export const saveProfile = async (
  path: string,
  profile: ProfileInput,
): Promise<Result<LoadedProfile, ProfileErrorCode>> => {
  const abs = resolve(path);
  const parsed = parseProfile(profile, abs);
  if (!parsed.ok) return parsed;
  const tmp = `${abs}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(parsed.value, null, 2)}\n`, 'utf8');
    await rename(tmp, abs);
  } catch (e) {
    return err(
      'PROFILE_WRITE_FAILED',
      `The product profile ${abs} could not be written: ${(e as Error).message}.`,
      {
        remedy: 'Check that the folder exists and is writable.',
        details: { path: abs },
      },
    );
  }
  return ok({ path: abs, dir: dirname(abs), profile: parsed.value });
};

/** Absolute path of a firmware entry of a loaded profile. */
export const firmwarePath = (loaded: Pick<LoadedProfile, 'dir'>, relative: string): string =>
  resolve(loaded.dir, relative);

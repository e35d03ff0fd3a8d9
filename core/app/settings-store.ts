import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { err, ok, type Result } from '../errors/result';

/*
 * The station's own settings, kept beside its database: the station name, the operator's slot
 * labels by USB port path, and the engineer PIN as a scrypt hash (never the PIN itself). A
 * JSON file, written atomically, because it is tiny and an engineer may need to read it.
 */

export const SETTINGS_FILE = 'station-settings.json';

/** scrypt cost: N=2^15 costs ~50-100 ms here, slow enough to make guessing a 4-digit PIN offline costly. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32 } as const;

const pinHashSchema = z.object({
  algorithm: z.literal('scrypt'),
  N: z.int(),
  r: z.int(),
  p: z.int(),
  salt: z.string(),
  hash: z.string(),
});
export type PinHash = z.infer<typeof pinHashSchema>;

const settingsSchema = z.object({
  stationName: z.string().min(1),
  slotLabels: z.record(z.string(), z.string()).default({}),
  pin: pinHashSchema.optional(),
  /** The variable holding the line database URL; unset = LINESTATION_LINE_DB. Never the URL. */
  lineDbEnv: z.string().optional(),
  /**
   * Stations of the line that reach the Particle Cloud through this station's public IP address;
   * each keeps to its share of Particle's 10,000 requests per 5 minutes. Unset = 1.
   */
  stationsSharingIp: z.int().min(1).optional(),
});
export type StationSettings = z.infer<typeof settingsSchema>;

const derive = (pin: string, salt: Buffer, N: number, r: number, p: number, len: number): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    // maxmem must cover 128 * N * r bytes, which the default 32 MiB does only barely.
    scrypt(pin, salt, len, { N, r, p, maxmem: 256 * N * r }, (e, key) => (e ? reject(e) : resolve(key))),
  );

export const hashPin = async (pin: string): Promise<PinHash> => {
  const salt = randomBytes(16);
  const key = await derive(pin, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return {
    algorithm: 'scrypt',
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
    salt: salt.toString('base64'),
    hash: key.toString('base64'),
  };
};

/** Constant-time comparison, with the parameters the hash was made with (they may be raised later). */
export const verifyPin = async (pin: string, stored: PinHash): Promise<boolean> => {
  const expected = Buffer.from(stored.hash, 'base64');
  const key = await derive(
    pin,
    Buffer.from(stored.salt, 'base64'),
    stored.N,
    stored.r,
    stored.p,
    expected.length,
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
};

export interface SettingsStore {
  read(): StationSettings;
  update(change: (s: StationSettings) => StationSettings): Result<StationSettings>;
  readonly path: string;
}

export const openSettingsStore = (dataDir: string, defaultName: string = hostname()): SettingsStore => {
  const path = join(dataDir, SETTINGS_FILE);
  const fallback = (): StationSettings => ({ stationName: defaultName, slotLabels: {} });
  // The station screen reads the name and labels with every 4 Hz snapshot; only this process
  // writes the file, so the parsed copy stays right until our own update replaces it.
  let cached: StationSettings | undefined;
  const read = (): StationSettings => {
    cached ??= readFromDisk();
    return cached;
  };
  const readFromDisk = (): StationSettings => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return fallback();
    }
    try {
      const parsed = settingsSchema.safeParse(JSON.parse(text));
      // A damaged file must not lock the station: defaults (and no PIN, so an engineer sets one
      // again). The set-up is audited, so this cannot go unnoticed.
      return parsed.success ? parsed.data : fallback();
    } catch {
      return fallback();
    }
  };
  return {
    path,
    read,
    update(change) {
      const next = settingsSchema.parse(change(read()));
      try {
        mkdirSync(dataDir, { recursive: true });
        const tmp = `${path}.partial`;
        writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
        renameSync(tmp, path);
      } catch (e) {
        return err(
          'SETTINGS_WRITE_FAILED',
          `The station settings could not be saved to ${path}: ${(e as Error).message}`,
          {
            remedy: 'Check that the data folder is writable and the disk is not full.',
          },
        );
      }
      cached = next;
      return ok(next);
    },
  };
};

import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../errors/result';

/** `<data-dir>/station-id`: one UUID per station, made once. */
export const STATION_ID_FILE = 'station-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The station's identity in the line database. Names are for people and two stations may share
 * one by mistake; the ID is what keys every row the station forwards, so it must never change:
 * it is made once and kept in the data folder, beside the log it identifies. Created with a hard
 * link from a temporary file, so two processes starting at once agree on one ID.
 */
export const loadStationId = (dataDir: string): Result<string, 'STATION_ID_UNREADABLE'> => {
  const file = join(dataDir, STATION_ID_FILE);
  const read = (): string | undefined => {
    try {
      const id = readFileSync(file, 'utf8').trim().toLowerCase();
      return UUID.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  };
  const existing = read();
  if (existing) return ok(existing);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // Absent: make one below.
  }
  if (text !== undefined)
    return err('STATION_ID_UNREADABLE', `${file} does not hold a station ID.`, {
      remedy:
        'Restore the file from a backup of this station (its rows in the line database are keyed by it), or delete it to give the station a new identity.',
    });
  try {
    mkdirSync(dataDir, { recursive: true });
    const tmp = `${file}.${process.pid}.partial`;
    writeFileSync(tmp, `${randomUUID()}\n`, { mode: 0o644 });
    try {
      linkSync(tmp, file);
    } catch {
      // Someone else made it first: theirs wins.
    } finally {
      rmSync(tmp, { force: true });
    }
  } catch (e) {
    return err(
      'STATION_ID_UNREADABLE',
      `The station ID could not be written to ${file}: ${(e as Error).message}`,
      {
        remedy: 'Make the data folder writable.',
      },
    );
  }
  const made = read();
  return made ? ok(made) : err('STATION_ID_UNREADABLE', `${file} could not be read back.`);
};

/** The station ID if one was made, without making one (read-only commands). */
export const peekStationId = (dataDir: string): string | undefined => {
  try {
    const id = readFileSync(join(dataDir, STATION_ID_FILE), 'utf8').trim().toLowerCase();
    return UUID.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
};

import { InvalidArgumentError } from 'commander';

/*
 * Option parsers and help texts shared by the CLI commands, so one flag means and checks the same
 * thing in every command (commander turns an InvalidArgumentError into a usage error, exit 2).
 */

/** A number ≥ 0 (a timing scale where 0 = instant, a duration in seconds). */
export const nonNegativeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0.');
  return n;
};

/** A number > 0 (a timing scale that must keep time moving). */
export const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number above 0.');
  return n;
};

/** A whole number from 1 to `max` (digits only: "1e3" or "2.0" are refused). */
export const wholeNumberUpTo =
  (max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max)
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}.`);
    return n;
  };

/** A whole number of at least 1, without an upper bound. */
export const atLeastOne = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
};

/** Repeated option: `--x a --x b` → ['a', 'b']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Help for `--data-dir`, where the station log lives (see core/store/data-dir.ts). */
export const DATA_DIR_HELP = 'station data directory (default: LINESTATION_DATA or the OS app-data folder)';

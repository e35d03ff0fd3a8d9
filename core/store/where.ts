import type { SQLInputValue } from 'node:sqlite';

/**
 * `WHERE a = ? AND b = ?` for the filters that are set (undefined ones are left out), with their
 * values in order; an empty string when none is. Column names come from code, never from input.
 */
export const whereEqual = (
  columns: Readonly<Record<string, SQLInputValue | undefined>>,
): { sql: string; args: SQLInputValue[] } => {
  const set = Object.entries(columns).filter((c): c is [string, SQLInputValue] => c[1] !== undefined);
  return {
    sql: set.length > 0 ? `WHERE ${set.map(([c]) => `${c} = ?`).join(' AND ')}` : '',
    args: set.map(([, v]) => v),
  };
};

import type { DatabaseSync } from 'node:sqlite';

/**
 * A named schema step. Names (not numbers) identify migrations, so steps owned by different
 * parts of the core (outbox, station log) can be added independently; each runs once, in the
 * order of the list in `index.ts`, inside a transaction.
 */
export interface Migration {
  readonly name: string;
  up(db: DatabaseSync): void;
}

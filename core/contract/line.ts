import { z } from 'zod';

/*
 * What the shells see of the line database (core/line-db): the forwarder's status while a batch
 * runs, and what is configured when none does. Never the URL's password: `target` is redacted.
 */

const lsErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  remedy: z.string().optional(),
});

export const lineStatusSchema = z.object({
  state: z.enum(['connecting', 'connected', 'unreachable', 'refused', 'stopped']),
  target: z.string(),
  envName: z.string(),
  stationId: z.string(),
  stationName: z.string(),
  /** Changes committed at this station and not yet in the line database. */
  behind: z.int(),
  forwardedSeq: z.int(),
  lastForwardAt: z.string().nullable(),
  failingSince: z.string().nullable(),
  error: lsErrorSchema.nullable(),
  nextTryAt: z.string().nullable(),
  clockSkewMs: z.number().nullable(),
  warnings: z.array(lsErrorSchema),
  sameNameStations: z.array(z.object({ stationId: z.string(), lastSeenAt: z.string() })),
});
export type LineStatusView = z.infer<typeof lineStatusSchema>;

export const lineViewSchema = z.object({
  /** The variable the station reads the URL from. */
  envName: z.string(),
  /** A URL is set in it (a usable one or not). */
  configured: z.boolean(),
  /** postgres://user:***@host:port/db, when configured. */
  target: z.string().optional(),
  /** The one line the station shows: 'line database: connected, 12 records behind', 'line database: not configured'. */
  line: z.string(),
  /** The forwarder's status; present while a batch runs (the forwarder runs with it). */
  status: lineStatusSchema.optional(),
});
export type LineView = z.infer<typeof lineViewSchema>;

/** A variable name, never a value: a URL typed here would be stored in the settings file. */
export const envNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the NAME of an environment variable (letters, digits, _), not a URL')
  .max(64);

import { z } from 'zod';

/*
 * Payload shapes shared by several methods: what the shells see of profiles, readiness and
 * firmware. They are views (plain, serialisable, already explained), not core objects.
 */

export const readinessStatusSchema = z.enum(['ok', 'fail', 'pending', 'unknown']);
export type ReadinessStatus = z.infer<typeof readinessStatusSchema>;

export const readinessItemSchema = z.object({
  id: z.string(),
  /** Short question-like title for the checklist row, e.g. "Firmware matches the product". */
  title: z.string(),
  ok: z.boolean(),
  status: readinessStatusSchema,
  message: z.string(),
  remedy: z.string().optional(),
  /** Individual findings (one per file or per problem) for the detail view. */
  details: z.array(z.string()).default([]),
});
export type ReadinessItem = z.infer<typeof readinessItemSchema>;

export const readinessSchema = z.object({
  ready: z.boolean(),
  items: z.array(readinessItemSchema),
  checkedAt: z.iso.datetime(),
});
export type Readiness = z.infer<typeof readinessSchema>;

export const moduleViewSchema = z.object({
  /** Particle module function name: bootloader, system-part, user-part, ... */
  kind: z.string(),
  index: z.int().nonnegative(),
  version: z.int().nonnegative(),
  platformId: z.int().nonnegative(),
  /** Undefined for non-product builds. */
  productId: z.int().nonnegative().optional(),
  productVersion: z.int().nonnegative().optional(),
  size: z.int().nonnegative(),
  dependencies: z.array(z.object({ kind: z.string(), index: z.int(), version: z.int() })).default([]),
});
export type ModuleView = z.infer<typeof moduleViewSchema>;

export const firmwareFileViewSchema = z.object({
  path: z.string(),
  pinnedSha256: z.string().optional(),
  actualSha256: z.string().optional(),
  state: z.enum(['match', 'unpinned', 'changed', 'missing', 'unreadable']),
  /** The file's first (for a module binary: only) module, for one-line displays. */
  module: moduleViewSchema.optional(),
  /** Every module the file holds: a .dfu file may carry several. */
  modules: z.array(moduleViewSchema).default([]),
});
export type FirmwareFileView = z.infer<typeof firmwareFileViewSchema>;

export const profileViewSchema = z.object({
  path: z.string(),
  organization: z.string().optional(),
  product: z.object({ id: z.int(), slug: z.string().optional(), name: z.string() }),
  platform: z.object({ name: z.string(), id: z.int().optional(), displayName: z.string().optional() }),
  provisioningMode: z.enum(['flash-on-line', 'ota-on-setup']).optional(),
  customerAuth: z.string().optional(),
  privateBeta: z.boolean().optional(),
  registration: z
    .discriminatedUnion('mode', [
      z.object({ mode: z.literal('cloud'), apiBaseUrl: z.string(), tokenEnv: z.string() }),
      z.object({ mode: z.literal('offline') }),
    ])
    .optional(),
  development: z.boolean().optional(),
  groups: z.array(z.string()),
  readback: z.boolean(),
  slotCount: z.int(),
  slotLabels: z.record(z.string(), z.string()),
  firmware: z.array(firmwareFileViewSchema),
  locked: z.boolean(),
  tampered: z.boolean(),
  lockedAt: z.string().optional(),
  profileHash: z.string(),
});
export type ProfileView = z.infer<typeof profileViewSchema>;

export const profileWithReadinessSchema = z.object({
  profile: profileViewSchema,
  readiness: readinessSchema,
});
export type ProfileWithReadiness = z.infer<typeof profileWithReadinessSchema>;

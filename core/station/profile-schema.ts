import { z } from 'zod';
import { TEMPLATE_FIELDS, unknownTemplateFields } from '../cloud/cloud-setup';
import { labelTemplateSchema } from '../labels/template-schema';

/**
 * The product profile: everything a station must know to provision one product, in one
 * versioned JSON file that lives beside its firmware. Questions Particle says must be answered
 * before manufacturing (programming mode, customer authentication, private beta, registration)
 * are optional in the file so a draft can be saved; the readiness checklist refuses a profile
 * until every one is answered.
 */

export const PROFILE_SCHEMA_VERSION = 1;

export const PROVISIONING_MODES = ['flash-on-line', 'ota-on-setup'] as const;
export type ProvisioningMode = (typeof PROVISIONING_MODES)[number];

export const CUSTOMER_AUTH_STYLES = ['simple', 'two-legged', 'login-with-particle'] as const;
export type CustomerAuth = (typeof CUSTOMER_AUTH_STYLES)[number];

const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 written as 64 lower-case hex characters');

/** An environment variable NAME: the token itself must never be written into a profile. */
const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable, not a token')
  // Particle access tokens are 40 hex characters; one pasted here would leak with the profile.
  .refine(
    (s) => !/^[0-9a-f]{32,}$/i.test(s),
    'looks like an access token: write the NAME of the variable that holds it',
  );

export const firmwareEntrySchema = z.strictObject({
  /** Relative to the profile file's folder, with forward slashes, so a profile folder can move. */
  path: z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p), 'must be relative to the profile file'),
  /** Pinned when the file was added; a locked profile refuses a file whose bytes differ. */
  sha256: sha256Hex.optional(),
});
export type FirmwareEntry = z.infer<typeof firmwareEntrySchema>;

/** A name or notes template: only the placeholders core/cloud/cloud-setup.ts fills. */
const setupTemplate = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((t) => unknownTemplateFields(t).length === 0, {
      message: `may use only the placeholders ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`,
    });

/**
 * Cloud setup after the import, as Particle's manufacturing guide recommends (docs/cloud.md).
 * Every key is optional and none has a default in the file, so a profile without them keeps its
 * hash; the defaults apply when the station resolves them (core/cloud/cloud-setup.ts).
 */
export const cloudSetupSchema = z.strictObject({
  /** Import each device's SIM with it (`import_sims`). Default: true on cellular platforms. */
  importSims: z.boolean().optional(),
  /** Device name template, e.g. `{serial}` or `{product}-{serial}`. */
  name: setupTemplate(200).optional(),
  /** Device notes template, e.g. `lot {lot}, station {station}`. */
  notes: setupTemplate(1000).optional(),
  /** Also put each device in the shipment's date group YYYYMMDD_XXXX (XXXX = its device count). */
  dateGroup: z.boolean().optional(),
  /** Lock devices to a product firmware version: true = the version of the profile's user part. */
  lockFirmwareVersion: z.union([z.literal(true), z.int().positive()]).optional(),
});
export type CloudSetupProfile = z.infer<typeof cloudSetupSchema>;

export const registrationSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('cloud'),
    apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://api.particle.io'),
    tokenEnv: envVarName,
    setup: cloudSetupSchema.optional(),
  }),
  // Offline is a deliberate answer: device IDs go to the outbox and are registered later (with
  // the same setup).
  z.strictObject({ mode: z.literal('offline'), setup: cloudSetupSchema.optional() }),
]);
export type Registration = z.infer<typeof registrationSchema>;

export const retrySchema = z.strictObject({
  /** Attempts per device in one sitting, counting the first. */
  maxAttempts: z.int().min(1).max(10).default(2),
  /** Failure codes worth an automatic retry (transient USB trouble); others stop at once. */
  retryOn: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/)).default(['USB_TIMEOUT', 'USB_IO', 'USB_STALL']),
});

export const slotsSchema = z.strictObject({
  count: z.int().min(1).max(24).default(1),
  /** Operator-facing names keyed by USB port path (e.g. `1-2.3` -> `A3`). */
  labels: z
    .record(z.string().regex(/^\d+-\d+(\.\d+)*$/, 'must be a USB port path like 1-2.3'), z.string().min(1))
    .default({}),
});

export const stationOptionsSchema = z.strictObject({
  /** A device that already runs this product's firmware is skipped unless this is set. */
  reflashAlreadyProvisioned: z.boolean().default(false),
  /**
   * Skip a module the device already runs at the same version (and SHA-256, where the device
   * reports one) instead of writing it again. Off by default: a line writes the whole set.
   * Added to version 1 later; absent reads as false (see profileHash).
   */
  skipWhenCurrent: z.boolean().default(false),
});

/**
 * What identify must read besides the device ID (docs/devices.md, "Identity"). Without a key the
 * station records what it can and logs why a field stayed empty; with it, a device whose serial
 * number (or, on cellular platforms, ICCID) cannot be read fails with DEVICE_SERIAL_UNREADABLE /
 * DEVICE_ICCID_UNREADABLE. Added to version 1 later; no key has a default in the file, so a
 * profile without it keeps its hash (see profileHash).
 */
export const identitySchema = z.strictObject({
  /** The sticker serial number is required (the device is named or labelled by it). */
  requireSerial: z.boolean().optional(),
  /** The SIM's ICCID is required (cellular platforms only; ignored elsewhere). */
  requireIccid: z.boolean().optional(),
});
export type IdentityProfile = z.infer<typeof identitySchema>;

export const lockSchema = z.strictObject({
  /** SHA-256 over the canonical profile (without this block), firmware hashes included. */
  profileHash: sha256Hex,
  lockedAt: z.iso.datetime(),
});
export type ProfileLock = z.infer<typeof lockSchema>;

export const profileSchema = z.strictObject({
  schemaVersion: z.literal(PROFILE_SCHEMA_VERSION),
  organization: z.string().min(1).optional(),
  product: z.strictObject({
    id: z.int().positive(),
    slug: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes')
      .optional(),
    name: z.string().min(1),
  }),
  /** Particle's short platform name (`boron`, `p2`, ...). */
  platform: z.string().min(1),
  provisioningMode: z.enum(PROVISIONING_MODES).optional(),
  customerAuth: z.enum(CUSTOMER_AUTH_STYLES).optional(),
  privateBeta: z.boolean().optional(),
  firmware: z.array(firmwareEntrySchema).default([]),
  /**
   * Device OS module version the devices already run when they reach the station (5600 = 5.6.0).
   * A user part may lean on system parts the set does not carry only when this is stated.
   */
  deviceOsVersion: z.int().positive().optional(),
  /**
   * The product declares Device Protection: its devices end up protected, so a set must be
   * Device OS 6.1.1 or later (system parts 6101+, bootloader 3001+) and its bootloader is sealed
   * as protected before it is sent; without it, a protected bootloader is refused. Added to
   * version 1 later; absent reads as false (see profileHash).
   */
  deviceProtection: z.boolean().default(false),
  registration: registrationSchema.optional(),
  identity: identitySchema.optional(),
  /** Mark registered devices as development devices (they are not auto-updated by the cloud). */
  development: z.boolean().optional(),
  groups: z
    .array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, dashes or underscores'))
    .default([]),
  verification: z.strictObject({ readback: z.boolean().default(true) }).default({ readback: true }),
  retry: retrySchema.default({ maxAttempts: 2, retryOn: ['USB_TIMEOUT', 'USB_IO', 'USB_STALL'] }),
  slots: slotsSchema.default({ count: 1, labels: {} }),
  station: stationOptionsSchema.default({ reflashAlreadyProvisioned: false, skipWhenCurrent: false }),
  /** The label printed for each PASS (core/labels); no label, no printing (manual pairing). */
  label: labelTemplateSchema.optional(),
  lock: lockSchema.optional(),
});

/** A profile as held in memory: defaults filled in. */
export type Profile = z.infer<typeof profileSchema>;
/** A profile as written by a person or a script: defaults may be left out. */
export type ProfileInput = z.input<typeof profileSchema>;

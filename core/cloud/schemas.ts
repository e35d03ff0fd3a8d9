import { z } from 'zod';

// Response shapes of the Particle Cloud endpoints the station uses. Lists default to empty and
// unknown fields pass through untouched, because the cloud adds fields over time (for example
// protectedDeviceIds arrived later) and an older station must keep working.

const idList = z.array(z.string()).default([]);

export const importResponseSchema = z.looseObject({
  updated: z.number().optional(),
  updatedDeviceIds: idList,
  existingDeviceIds: idList,
  nonmemberDeviceIds: idList,
  invalidDeviceIds: idList,
  protectedDeviceIds: idList,
});
export type ImportResponse = z.infer<typeof importResponseSchema>;

export const productFirmwareSchema = z.looseObject({
  version: z.number(),
  title: z.string().optional(),
  product_default: z.boolean().optional(),
  uploaded_on: z.string().optional(),
});
export type ProductFirmware = z.infer<typeof productFirmwareSchema>;
export const firmwareListSchema = z.array(productFirmwareSchema);

export const productDeviceSchema = z.looseObject({
  id: z.string(),
  development: z.boolean().optional(),
  groups: z.array(z.string()).optional(),
});
export type ProductDevice = z.infer<typeof productDeviceSchema>;

export const deviceListSchema = z.looseObject({
  devices: z.array(productDeviceSchema),
  meta: z.looseObject({ total_pages: z.number().optional() }).optional(),
});

export const productSchema = z.looseObject({
  product: z.looseObject({
    id: z.number(),
    slug: z.string().optional(),
    name: z.string().optional(),
    platform_id: z.number().optional(),
  }),
});
export type ProductInfo = z.infer<typeof productSchema>['product'];

/** Particle's error body: `{ error, error_description }` (shape varies; both optional). */
export const errorBodySchema = z.looseObject({
  error: z.string().optional(),
  error_description: z.string().optional(),
  info: z.string().optional(),
});

/** PUT /v1/products/:p/devices/:id (particle-api-js updateDevice); only the fields given are sent. */
export interface DeviceSettings {
  readonly name?: string;
  readonly notes?: string;
  readonly development?: boolean;
  /** `desired_firmware_version`: lock to this product firmware version; null unlocks. */
  readonly desiredFirmwareVersion?: number | null;
  /** Absolute: the device ends up in exactly these groups (the batch endpoint only adds). */
  readonly groups?: readonly string[];
}

/** Standard base64 as the cloud sends binary fields; decoded to bytes after validation. */
const base64Bytes = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/)
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64')));

/**
 * `PUT /v1/products/:p/devices/:id/unprotect` (particle-api-js `unprotectDevice`, particle-cli
 * src/lib/device-protection-helper.js). Action `prepare` answers the server nonce; action `confirm`
 * (with the device's nonce, signature and key fingerprint) answers the cloud's signature and the
 * fingerprint of the key it signed with. Every binary field is base64.
 */
export const unprotectPrepareSchema = z.looseObject({ server_nonce: base64Bytes });
export const unprotectConfirmSchema = z.looseObject({
  server_signature: base64Bytes,
  server_public_key_fingerprint: base64Bytes,
});

/** What the device answered to PREPARE, passed on to the cloud's `confirm`. */
export interface DeviceUnprotectProof {
  readonly serverNonce: Uint8Array;
  readonly deviceNonce: Uint8Array;
  readonly deviceSignature: Uint8Array;
  readonly devicePublicKeyFingerprint: Uint8Array;
}

/** The cloud's `confirm` answer, passed on to the device's CONFIRM. */
export interface ServerUnprotectProof {
  readonly serverSignature: Uint8Array;
  readonly serverPublicKeyFingerprint: Uint8Array;
}

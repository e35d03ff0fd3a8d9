import { z } from 'zod';
import type { Classifier, CloudRequest, CloudResult, ErrorSaid, RequestOptions } from './client';
import { cloudError } from './errors';

/*
 * The Particle Cloud endpoints of cloud setup beyond the import (Cloud API reference, "Device
 * groups", "Import and activate product SIMs"):
 * - POST /v1/products/:p/sims `{ sims: [iccid…] }`: import and activate product SIMs;
 * - GET /v1/products/:p/groups?name=…: list groups (partial name match);
 * - GET /v1/products/:p/groups/:name: one group with its device count;
 * - POST /v1/products/:p/groups `{ name, description?, color? }`: create a group;
 * - PUT /v1/products/:p/groups/:name `{ name }`: edit a group (here: rename it; memberships stay);
 * - PUT /v1/products/:p/devices `{ action: 'groups', devices: [id…], metadata: { add: [name…] } }`:
 *   batch-assign groups, one request for many devices.
 * Group names are lower-case letters, digits, '-' and '_', at most 64 characters (Particle's rule).
 *
 * Particle documents the requests but not every error body, so refusals are recognised by the
 * words of the answer (as particle-cli does for Device Protection); anything not recognised keeps
 * the generic class with the cloud's own text.
 */

/** Particle's group-name rule (Console guide "Device groups"). */
export const GROUP_NAME = /^[a-z0-9_-]{1,64}$/;

const text = (said: ErrorSaid): string =>
  [said.error, said.description].filter((t) => t !== undefined).join(' ');
const quote = (said: ErrorSaid): string => {
  const t = text(said);
  return t ? ` The cloud said: "${t.slice(0, 300)}".` : '';
};

/**
 * A SIM the cloud refused: an import with `import_sims`, or a SIM import, answered 400/403/404 with
 * words about the SIM or ICCID (owned by another account, not a Particle SIM, deactivated).
 */
export const simRejection =
  (productId: string, who: string): Classifier =>
  (status, said) => {
    if (status !== 400 && status !== 403 && status !== 404) return undefined;
    if (!/\bsims?\b|iccid/i.test(text(said))) return undefined;
    return cloudError(
      'CLOUD_SIM_REJECTED',
      'permanent',
      `The Particle Cloud refused the SIM of ${who} for product ${productId} (${status}).${quote(said)}`,
      {
        status,
        details: { productId, cloudSaid: text(said).slice(0, 300) },
        remedy:
          'The device is registered without its SIM. Check the SIM in the Console (another account may own it, or it is not a Particle SIM); release or replace it, then register the device again.',
      },
    );
  };

/** A device update the cloud refused because the firmware version to lock to does not exist. */
export const updateRefusal =
  (productId: string, deviceId: string, version: number | undefined): Classifier =>
  (status, said) => {
    const t = text(said);
    if (status === 400 && version !== undefined && /firmware|version/i.test(t))
      return cloudError(
        'CLOUD_FIRMWARE_VERSION_UNKNOWN',
        'permanent',
        `Product ${productId} has no firmware version ${version} to lock device ${deviceId} to (${status}).${quote(said)}`,
        {
          status,
          details: { productId, deviceId, version },
          remedy:
            "Upload that version to the product in the Console (it need not be released), or change the profile's lockFirmwareVersion.",
        },
      );
    // 404 on a device path: the product exists (checked at the batch start) but does not hold the
    // device any more, which blocks nothing else. "Product not found" is still told apart.
    if (status === 404 && !/product (?:was )?not found|no such product/i.test(t))
      return cloudError(
        'CLOUD_DEVICE_NOT_IN_PRODUCT',
        'permanent',
        `Product ${productId} does not hold device ${deviceId} (404).${quote(said)}`,
        {
          status,
          details: { productId, deviceId },
          remedy: 'Someone removed the device from the product: register it again.',
        },
      );
    return undefined;
  };

/** Group endpoints: the name taken, no such group, or a name Particle does not allow. */
export const groupRefusal =
  (productId: string, name: string): Classifier =>
  (status, said) => {
    const t = text(said);
    const extra = { status, details: { productId, group: name } };
    if (
      (status === 404 && !/product (?:was )?not found|no such product/i.test(t)) ||
      (status === 400 && /not (?:be )?found|does not exist|unknown group/i.test(t))
    )
      return cloudError(
        'CLOUD_GROUP_NOT_FOUND',
        'permanent',
        `Product ${productId} has no group named ${name} (${status}).${quote(said)}`,
        { ...extra, remedy: 'Nothing to do: the station looks the group up again.' },
      );
    if ((status === 400 || status === 409) && /already|taken|duplicate/i.test(t))
      return cloudError(
        'CLOUD_GROUP_EXISTS',
        'permanent',
        `Product ${productId} already has a group named ${name} (${status}).${quote(said)}`,
        { ...extra, remedy: 'Nothing to do: the station uses the existing group.' },
      );
    if (status === 400 && /name/i.test(t))
      return cloudError(
        'CLOUD_GROUP_NAME_INVALID',
        'permanent',
        `The Particle Cloud does not accept the group name "${name}" (${status}).${quote(said)}`,
        {
          ...extra,
          remedy:
            'Group names are lower-case letters, digits, dashes and underscores, up to 64 characters: fix the profile.',
        },
      );
    return undefined;
  };

export const groupInfoSchema = z.looseObject({
  name: z.string(),
  description: z.string().nullish(),
  color: z.string().nullish(),
  device_count: z.number().optional(),
});
export type GroupInfo = z.infer<typeof groupInfoSchema>;

/** `{ groups: [...] }`; a bare array is taken too. */
export const groupListSchema = z.union([
  z.looseObject({ groups: z.array(groupInfoSchema) }).transform((b) => b.groups),
  z.array(groupInfoSchema),
]);

/** `{ group: {...} }` or the group itself. */
export const groupReplySchema = z.union([
  z.looseObject({ group: groupInfoSchema }).transform((b) => b.group),
  groupInfoSchema,
]);

/** Answers the station reads nothing from beyond the 2xx. */
export const anyBodySchema = z.unknown();

export interface NewGroup {
  readonly name: string;
  readonly description?: string;
  readonly color?: string;
}

/** The cloud-setup requests, part of every CloudClient. */
export interface CloudSetupClient {
  /** POST /v1/products/:p/sims: import and activate the product's SIMs. CLOUD_SIM_REJECTED names a refusal. */
  importSims(productId: string, iccids: readonly string[], opts?: RequestOptions): Promise<CloudResult<void>>;
  /** GET /v1/products/:p/groups, optionally filtered by part of the name. */
  listGroups(
    productId: string,
    filter?: { readonly name?: string },
    opts?: RequestOptions,
  ): Promise<CloudResult<GroupInfo[]>>;
  /** GET /v1/products/:p/groups/:name, with its device count. CLOUD_GROUP_NOT_FOUND when absent. */
  getGroup(productId: string, name: string, opts?: RequestOptions): Promise<CloudResult<GroupInfo>>;
  /** POST /v1/products/:p/groups. CLOUD_GROUP_EXISTS when the name is taken. */
  createGroup(productId: string, group: NewGroup, opts?: RequestOptions): Promise<CloudResult<void>>;
  /** PUT /v1/products/:p/groups/:name `{ name }`: the members stay. CLOUD_GROUP_NOT_FOUND / _EXISTS. */
  renameGroup(
    productId: string,
    name: string,
    newName: string,
    opts?: RequestOptions,
  ): Promise<CloudResult<void>>;
  /** PUT /v1/products/:p/devices `{ action: 'groups', … add }`: one request for all the devices. */
  addDevicesToGroups(
    productId: string,
    deviceIds: readonly string[],
    groups: readonly string[],
    opts?: RequestOptions,
  ): Promise<CloudResult<void>>;
}

const done = <T>(r: CloudResult<T>): CloudResult<void> => (r.ok ? { ok: true, value: undefined } : r);

export const setupEndpoints = (request: CloudRequest, p: (productId: string) => string): CloudSetupClient => {
  const g = (productId: string, name: string) => `${p(productId)}/groups/${encodeURIComponent(name)}`;
  return {
    importSims: async (productId, iccids, opts) =>
      done(
        await request(
          'POST',
          `${p(productId)}/sims`,
          { sims: [...iccids] },
          anyBodySchema,
          productId,
          opts,
          simRejection(productId, iccids.length === 1 ? `ICCID ${iccids[0]}` : `${iccids.length} SIMs`),
        ),
      ),
    listGroups: (productId, filter = {}, opts) =>
      request(
        'GET',
        `${p(productId)}/groups${filter.name ? `?${new URLSearchParams({ name: filter.name })}` : ''}`,
        undefined,
        groupListSchema,
        productId,
        opts,
      ),
    getGroup: (productId, name, opts) =>
      request(
        'GET',
        g(productId, name),
        undefined,
        groupReplySchema,
        productId,
        opts,
        groupRefusal(productId, name),
      ),
    createGroup: async (productId, group, opts) =>
      done(
        await request(
          'POST',
          `${p(productId)}/groups`,
          { ...group },
          anyBodySchema,
          productId,
          opts,
          groupRefusal(productId, group.name),
        ),
      ),
    renameGroup: async (productId, name, newName, opts) => {
      const r = await request(
        'PUT',
        g(productId, name),
        { name: newName },
        anyBodySchema,
        productId,
        opts,
        (status, said) => {
          // "exists" is about the new name; "not found" about the old one.
          const e = groupRefusal(productId, newName)(status, said);
          return e?.code === 'CLOUD_GROUP_NOT_FOUND' ? groupRefusal(productId, name)(status, said) : e;
        },
      );
      return done(r);
    },
    addDevicesToGroups: async (productId, deviceIds, groups, opts) =>
      done(
        await request(
          'PUT',
          `${p(productId)}/devices`,
          { action: 'groups', devices: [...deviceIds], metadata: { add: [...groups] } },
          anyBodySchema,
          productId,
          opts,
          groupRefusal(productId, groups.join(', ')),
        ),
      ),
  };
};

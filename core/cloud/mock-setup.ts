/*
 * The mock cloud's cloud-setup endpoints (see setup-client.ts for the real ones): SIM import,
 * device update with name/notes/firmware lock, device groups and the batch group assignment.
 * Particle documents the requests; where it does not document an error body, the mock answers
 * 400 with a sentence that says what is wrong (the station recognises the words, as it must with
 * the real cloud). Those choices are listed in docs/cloud.md ("The mock cloud").
 */

/** The device fields the setup endpoints read and write (mock-server's MockDevice has them). */
export interface SetupDevice {
  readonly id: string;
  development: boolean;
  groups: string[];
  name?: string;
  notes?: string;
  desiredFirmwareVersion?: number | null;
}

/** The scopes the setup endpoints ask for. */
export type SetupScope =
  | 'devices:update'
  | 'groups:list'
  | 'groups:create'
  | 'groups:update'
  | 'groups:remove'
  | 'sims:import';

export interface MockGroup {
  name: string;
  description: string;
  color: string;
  readonly createdAt: string;
}

export interface MockSim {
  readonly iccid: string;
  status: 'active';
  deviceId: string | undefined;
  readonly importedAt: string;
}

/** What the setup endpoints see of a product. */
export interface SetupProduct {
  readonly id: number;
  readonly devices: Map<string, SetupDevice>;
  readonly firmware: readonly { readonly version: number }[];
  readonly groups: Map<string, MockGroup>;
  readonly sims: Map<string, MockSim>;
}

/** The SIMs the cloud knows from manufacturing, and the ones it will refuse. */
export interface SimRegistry {
  /** Device ID → the ICCID of its SIM. */
  readonly deviceSims: Map<string, string>;
  /** ICCID or device ID → why the SIM cannot be imported. */
  readonly refused: Map<string, string>;
  /** The SIM of a device not listed in `deviceSims` (simulated devices derive theirs from their ID). */
  readonly resolve?: ((deviceId: string) => string | undefined) | undefined;
}

/** The ICCID the cloud knows for a device, from the list or the resolver (then remembered). */
export const simOf = (registry: SimRegistry, deviceId: string): string | undefined => {
  const id = deviceId.toLowerCase();
  const known = registry.deviceSims.get(id);
  if (known || !registry.resolve) return known;
  const resolved = registry.resolve(id);
  if (resolved) registry.deviceSims.set(id, resolved);
  return resolved;
};

type Reply = { status: number; body: unknown };
export type Handled = { reply: Reply; applied: boolean };

const GROUP_NAME = /^[a-z0-9_-]{1,64}$/;
const DEVICE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ICCID = /^[0-9]{18,22}F?$/i;
/** Devices per batch request. Particle does not publish a limit; the station sends at most its batch size. */
export const MOCK_BATCH_LIMIT = 1000;

const reply = (status: number, body: unknown): Reply => ({ status, body });
const no = (r: Reply): Handled => ({ reply: r, applied: false });
const bad = (error: string): Handled => no(reply(400, { ok: false, error }));
const obj = (body: unknown): Record<string, unknown> =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};

const groupView = (product: SetupProduct, g: MockGroup) => ({
  name: g.name,
  description: g.description,
  color: g.color,
  device_count: [...product.devices.values()].filter((d) => d.groups.includes(g.name)).length,
});

/** Why the import_sims of these devices (or these ICCIDs) cannot go through, or undefined. */
export const simRefusal = (registry: SimRegistry, keys: readonly string[]): string | undefined => {
  for (const key of keys) {
    const k = key.toLowerCase();
    const iccid = simOf(registry, k) ?? k;
    const why = registry.refused.get(k) ?? registry.refused.get(iccid.toLowerCase());
    if (why) return `SIM ${iccid.toUpperCase()} cannot be imported: ${why}.`;
  }
  return undefined;
};

/** Records the SIMs of newly imported or existing devices in the product (import_sims). */
export const importDeviceSims = (
  product: SetupProduct,
  registry: SimRegistry,
  deviceIds: readonly string[],
): void => {
  for (const id of deviceIds) {
    const iccid = simOf(registry, id);
    if (!iccid || product.sims.has(iccid)) continue;
    product.sims.set(iccid, { iccid, status: 'active', deviceId: id, importedAt: new Date().toISOString() });
  }
};

/**
 * The setup endpoints, or undefined when the request is none of them. `sub` is what follows
 * `/v1/products/:p` in the path.
 */
export const handleSetupApi = (
  method: string,
  sub: string,
  url: URL,
  body: unknown,
  product: SetupProduct,
  registry: SimRegistry,
  need: (scope: SetupScope) => Reply | undefined,
): Handled | undefined => {
  const guard = (scope: SetupScope): Handled | undefined => {
    const denied = need(scope);
    return denied ? no(denied) : undefined;
  };

  // ---- SIMs ----
  if (sub === '/sims' && method === 'POST') {
    const denied = guard('sims:import');
    if (denied) return denied;
    const sims = obj(body).sims;
    if (!Array.isArray(sims) || sims.length === 0 || !sims.every((s) => typeof s === 'string'))
      return bad('Please provide an array of ICCIDs in sims.');
    const iccids = (sims as string[]).map((s) => s.trim());
    const invalid = iccids.find((i) => !ICCID.test(i));
    if (invalid) return bad(`SIM ${invalid} is not a valid ICCID.`);
    const why = simRefusal(registry, iccids);
    if (why) return bad(why);
    let applied = false;
    for (const iccid of iccids)
      if (!product.sims.has(iccid)) {
        const deviceId = [...registry.deviceSims].find(([, i]) => i === iccid)?.[0];
        product.sims.set(iccid, { iccid, status: 'active', deviceId, importedAt: new Date().toISOString() });
        applied = true;
      }
    return { reply: reply(200, { ok: true }), applied };
  }

  // ---- groups ----
  if (sub === '/groups' && method === 'GET') {
    const denied = guard('groups:list');
    if (denied) return denied;
    const filter = url.searchParams.get('name') ?? '';
    const groups = [...product.groups.values()]
      .filter((g) => g.name.includes(filter))
      .map((g) => groupView(product, g));
    return no(reply(200, { groups }));
  }
  if (sub === '/groups' && method === 'POST') {
    const denied = guard('groups:create');
    if (denied) return denied;
    const b = obj(body);
    if (typeof b.name !== 'string' || !GROUP_NAME.test(b.name))
      return bad(
        'Invalid group name: use lower-case letters, numbers, hyphens and underscores, up to 64 characters.',
      );
    if (product.groups.has(b.name)) return bad(`Group name ${b.name} already exists.`);
    const g: MockGroup = {
      name: b.name,
      description: typeof b.description === 'string' ? b.description : '',
      color: typeof b.color === 'string' ? b.color : '#ffffff',
      createdAt: new Date().toISOString(),
    };
    product.groups.set(g.name, g);
    return { reply: reply(201, { ok: true, group: groupView(product, g) }), applied: true };
  }
  const gm = /^\/groups\/([^/]+)$/.exec(sub);
  if (gm) {
    const name = decodeURIComponent(gm[1] ?? '');
    const g = product.groups.get(name);
    if (method === 'GET') {
      const denied = guard('groups:list');
      if (denied) return denied;
      return no(
        g
          ? reply(200, { group: groupView(product, g) })
          : reply(404, { ok: false, error: 'Group not found.' }),
      );
    }
    if (method === 'PUT') {
      const denied = guard('groups:update');
      if (denied) return denied;
      if (!g) return no(reply(404, { ok: false, error: 'Group not found.' }));
      const b = obj(body);
      if (b.name === undefined && b.color === undefined && b.description === undefined)
        return bad('You must pass one of name, color, or description.');
      if (b.name !== undefined) {
        if (typeof b.name !== 'string' || !GROUP_NAME.test(b.name))
          return bad(
            'Invalid group name: use lower-case letters, numbers, hyphens and underscores, up to 64 characters.',
          );
        if (b.name !== name && product.groups.has(b.name)) return bad(`Group name ${b.name} already exists.`);
      }
      if (typeof b.description === 'string') g.description = b.description;
      if (typeof b.color === 'string') g.color = b.color;
      if (typeof b.name === 'string' && b.name !== name) {
        // A rename keeps every membership.
        product.groups.delete(name);
        g.name = b.name;
        product.groups.set(g.name, g);
        for (const d of product.devices.values()) d.groups = d.groups.map((x) => (x === name ? g.name : x));
      }
      return { reply: reply(200, { ok: true, group: groupView(product, g) }), applied: true };
    }
    if (method === 'DELETE') {
      const denied = guard('groups:remove');
      if (denied) return denied;
      if (!g) return no(reply(404, { ok: false, error: 'Group not found.' }));
      product.groups.delete(name);
      for (const d of product.devices.values()) d.groups = d.groups.filter((x) => x !== name);
      return { reply: reply(200, { ok: true }), applied: true };
    }
    return undefined;
  }

  // ---- batch group assignment ----
  if (sub === '/devices' && method === 'PUT') {
    const denied = guard('devices:update');
    if (denied) return denied;
    const b = obj(body);
    if (b.action !== 'groups') return bad('action must be groups.');
    const devices = b.devices;
    if (!Array.isArray(devices) || devices.length === 0 || !devices.every((d) => typeof d === 'string'))
      return bad('Please provide an array of device IDs in devices.');
    if (devices.length > MOCK_BATCH_LIMIT) return bad(`At most ${MOCK_BATCH_LIMIT} devices per request.`);
    const meta = obj(b.metadata);
    const list = (v: unknown): string[] | undefined =>
      v === undefined
        ? []
        : Array.isArray(v) && v.every((x) => typeof x === 'string')
          ? (v as string[])
          : undefined;
    const add = list(meta.add);
    const remove = list(meta.remove);
    if (!add || !remove || add.length + remove.length === 0)
      return bad('metadata must hold add and/or remove, arrays of group names.');
    const missingGroup = [...add, ...remove].find((n) => !product.groups.has(n));
    if (missingGroup) return bad(`Group ${missingGroup} does not exist.`);
    const ids = (devices as string[]).map((d) => d.trim().toLowerCase());
    const stranger = ids.find((id) => !product.devices.has(id));
    if (stranger) return bad(`Device ${stranger} is not part of this product.`);
    for (const id of ids) {
      const d = product.devices.get(id);
      if (!d) continue;
      d.groups = [...new Set([...d.groups.filter((x) => !remove.includes(x)), ...add])];
    }
    return { reply: reply(200, { ok: true }), applied: true };
  }

  // ---- one device ----
  const dm = /^\/devices\/([^/]+)$/.exec(sub);
  if (dm && method === 'PUT') {
    const denied = guard('devices:update');
    if (denied) return denied;
    const device = product.devices.get(decodeURIComponent(dm[1] ?? '').toLowerCase());
    if (!device) return no(reply(404, { error: 'Device not found in this product.' }));
    const b = obj(body);
    if (b.development !== undefined && typeof b.development !== 'boolean')
      return bad('development must be a boolean');
    if (b.groups !== undefined && !(Array.isArray(b.groups) && b.groups.every((g) => typeof g === 'string')))
      return bad('groups must be an array of strings');
    if (b.name !== undefined && (typeof b.name !== 'string' || !DEVICE_NAME.test(b.name)))
      return bad('Invalid device name: use letters, numbers, hyphens and underscores, up to 64 characters.');
    if (b.notes !== undefined && (typeof b.notes !== 'string' || b.notes.length > 1000))
      return bad('notes must be a string of at most 1000 characters');
    const fw = b.desired_firmware_version;
    if (fw !== undefined && fw !== null) {
      if (typeof fw !== 'number' || !Number.isInteger(fw))
        return bad('desired_firmware_version must be an integer');
      if (!product.firmware.some((f) => f.version === fw))
        return bad(`Firmware version ${fw} does not exist for this product.`);
    }
    if (typeof b.development === 'boolean') device.development = b.development;
    if (Array.isArray(b.groups)) {
      // Absolute, and a group that does not exist yet is created (Cloud API "Assign groups to a device").
      for (const name of b.groups as string[])
        if (!product.groups.has(name) && GROUP_NAME.test(name))
          product.groups.set(name, {
            name,
            description: '',
            color: '#ffffff',
            createdAt: new Date().toISOString(),
          });
      device.groups = [...(b.groups as string[])];
    }
    if (typeof b.name === 'string') device.name = b.name;
    if (typeof b.notes === 'string') device.notes = b.notes;
    if (fw === null) device.desiredFirmwareVersion = null;
    else if (typeof fw === 'number') device.desiredFirmwareVersion = fw;
    return {
      reply: reply(200, {
        id: device.id,
        name: device.name ?? null,
        notes: device.notes ?? null,
        development: device.development,
        groups: device.groups,
        desired_firmware_version: device.desiredFirmwareVersion ?? null,
        updated_at: new Date().toISOString(),
      }),
      applied: true,
    };
  }
  return undefined;
};

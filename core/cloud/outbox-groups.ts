import type { OutboxEntry } from '../store/outbox';
import type { CloudClient, CloudResult } from './client';
import { type CloudError, cloudError } from './errors';

/*
 * Group memberships in as few requests as the Particle Cloud allows:
 * - one batch request (`PUT /v1/products/:p/devices`, action `groups`) adds every device that
 *   needs the same groups, up to `batchSize` devices, whatever the number of groups;
 * - a static group is created once (`POST …/groups`; "already exists" counts as done) and then
 *   remembered for the life of the drain;
 * - the date group of a shipment is `YYYYMMDD_XXXX`, XXXX its device count. It is found by
 *   listing the day's groups (`GET …/groups?name=YYYYMMDD`), created with the count of its first
 *   devices, and renamed (`PUT …/groups/:name {name}`) when devices join, which keeps every
 *   membership: one rename instead of re-assigning the whole shipment. The count comes from the
 *   cloud (`GET …/groups/:name`, device_count), so stations that share a day's group keep it
 *   right between them; a station that finds its group renamed by another looks it up again.
 * The batch endpoint only adds: the station never removes a group somebody else assigned.
 */

export const dateGroupName = (day: string, count: number): string =>
  `${day}_${String(count).padStart(4, '0')}`;

/** The day's group among a listing: `YYYYMMDD_` and digits; the largest count if there are several. */
export const pickDateGroup = (day: string, names: readonly string[]): string | undefined => {
  const re = new RegExp(`^${day}_(\\d{4,})$`);
  let best: { name: string; n: number } | undefined;
  for (const name of names) {
    const m = re.exec(name);
    if (m?.[1] && (!best || Number(m[1]) > best.n)) best = { name, n: Number(m[1]) };
  }
  return best?.name;
};

/** What the drain gives the group sender: the client and how to end entries. */
export interface GroupContext {
  readonly client: CloudClient;
  readonly batchSize: number;
  /** Commits the entries as done (the sent payload guards a re-arm in flight), then tells. */
  done(productId: string, entries: readonly OutboxEntry[]): void;
  /** A failed request: retry later, block the product or fail the entries; false = stop the product. */
  failed(productId: string, entries: readonly OutboxEntry[], error: CloudError): boolean;
  /** One more request went out. */
  counted(): void;
}

export interface GroupSender {
  /** Sends the due group entries of one product; false when the product must not be sent more now. */
  send(productId: string, entries: readonly OutboxEntry[], signal: AbortSignal): Promise<boolean>;
}

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

type Step<T> = { ok: true; value: T } | { ok: false; error: CloudError };

export const createGroupSender = (ctx: GroupContext): GroupSender => {
  /** Static groups known to exist, per product. Lost on restart: a create then answers "exists". */
  const known = new Map<string, Set<string>>();
  /** The current cloud name of each day's group, per product. */
  const dayNames = new Map<string, string>();
  const dayKey = (productId: string, day: string) => `${productId}\u0000${day}`;

  const call = async <T>(fn: () => Promise<CloudResult<T>>): Promise<CloudResult<T>> => {
    ctx.counted();
    return fn();
  };

  const ensureStatic = async (productId: string, name: string, signal: AbortSignal): Promise<Step<void>> => {
    const set = known.get(productId) ?? new Set<string>();
    known.set(productId, set);
    if (set.has(name)) return { ok: true, value: undefined };
    const r = await call(() => ctx.client.createGroup(productId, { name }, { signal }));
    if (r.ok || r.error.code === 'CLOUD_GROUP_EXISTS') {
      set.add(name);
      return { ok: true, value: undefined };
    }
    return r;
  };

  /** The day's group as the cloud names it now, or undefined when the day has none yet. */
  const lookUpDay = async (
    productId: string,
    day: string,
    signal: AbortSignal,
  ): Promise<Step<string | undefined>> => {
    const cached = dayNames.get(dayKey(productId, day));
    if (cached) return { ok: true, value: cached };
    const r = await call(() => ctx.client.listGroups(productId, { name: day }, { signal }));
    if (!r.ok) return r;
    const name = pickDateGroup(
      day,
      r.value.map((g) => g.name),
    );
    if (name) dayNames.set(dayKey(productId, day), name);
    return { ok: true, value: name };
  };

  /** Creates the day's group for its first `count` devices; a name taken meanwhile is looked up. */
  const createDay = async (
    productId: string,
    day: string,
    count: number,
    signal: AbortSignal,
  ): Promise<Step<string>> => {
    const name = dateGroupName(day, count);
    const r = await call(() => ctx.client.createGroup(productId, { name }, { signal }));
    if (r.ok) {
      dayNames.set(dayKey(productId, day), name);
      return { ok: true, value: name };
    }
    if (r.error.code !== 'CLOUD_GROUP_EXISTS') return r;
    dayNames.delete(dayKey(productId, day));
    const again = await lookUpDay(productId, day, signal);
    if (!again.ok) return again;
    return again.value ? { ok: true, value: again.value } : { ok: true, value: name };
  };

  /** Renames the day's group to its device count now (from the cloud, unless `known`). */
  const settleDay = async (
    productId: string,
    day: string,
    name: string,
    knownCount: number | undefined,
    signal: AbortSignal,
  ): Promise<Step<string>> => {
    let current = name;
    for (let tries = 0; tries < 3; tries++) {
      let count = knownCount;
      if (count === undefined || tries > 0) {
        const g = await call(() => ctx.client.getGroup(productId, current, { signal }));
        if (!g.ok) {
          if (g.error.code !== 'CLOUD_GROUP_NOT_FOUND') return g;
          // Renamed by another station: find it again and take its count.
          dayNames.delete(dayKey(productId, day));
          const found = await lookUpDay(productId, day, signal);
          if (!found.ok) return found;
          if (!found.value) return { ok: false, error: lost(productId, day) };
          current = found.value;
          continue;
        }
        count = g.value.device_count;
        if (count === undefined) return { ok: true, value: current };
      }
      const wanted = dateGroupName(day, count);
      if (wanted === current) {
        dayNames.set(dayKey(productId, day), current);
        return { ok: true, value: current };
      }
      const r = await call(() => ctx.client.renameGroup(productId, current, wanted, { signal }));
      if (r.ok) {
        dayNames.set(dayKey(productId, day), wanted);
        return { ok: true, value: wanted };
      }
      if (r.error.code !== 'CLOUD_GROUP_NOT_FOUND' && r.error.code !== 'CLOUD_GROUP_EXISTS') return r;
      // Another station renamed it first (or already to the same count): look again.
      dayNames.delete(dayKey(productId, day));
      const found = await lookUpDay(productId, day, signal);
      if (!found.ok) return found;
      if (!found.value) return { ok: false, error: lost(productId, day) };
      current = found.value;
      knownCount = undefined;
    }
    return { ok: true, value: current };
  };

  const send: GroupSender['send'] = async (productId, entries, signal) => {
    // One request per distinct group set (and batch of devices).
    const sets = new Map<string, { statics: string[]; day: string | undefined; entries: OutboxEntry[] }>();
    for (const e of entries) {
      const statics = [...(e.settings.groups ?? [])].sort();
      const day = e.settings.dateGroup;
      const key = `${statics.join(',')}|${day ?? ''}`;
      const s = sets.get(key) ?? { statics, day, entries: [] };
      s.entries.push(e);
      sets.set(key, s);
    }

    for (const name of new Set([...sets.values()].flatMap((s) => s.statics))) {
      if (signal.aborted) return false;
      const r = await ensureStatic(productId, name, signal);
      if (!r.ok)
        return ctx.failed(
          productId,
          entries.filter((e) => e.settings.groups?.includes(name)),
          r.error,
        );
    }

    const days = new Map<
      string,
      { name?: string; created?: number; added: number; entries: OutboxEntry[] }
    >();
    for (const s of sets.values()) {
      if (signal.aborted) return false;
      let dayName: string | undefined;
      if (s.day) {
        const d = days.get(s.day) ?? { added: 0, entries: [] };
        days.set(s.day, d);
        if (!d.name) {
          const found = await lookUpDay(productId, s.day, signal);
          if (!found.ok) return ctx.failed(productId, s.entries, found.error);
          d.name = found.value;
          if (!d.name) {
            // The day's first devices: create the group already named for them.
            const dayTotal = [...sets.values()]
              .filter((x) => x.day === s.day)
              .reduce((n, x) => n + x.entries.length, 0);
            const made = await createDay(productId, s.day, dayTotal, signal);
            if (!made.ok) return ctx.failed(productId, s.entries, made.error);
            d.name = made.value;
            if (made.value === dateGroupName(s.day, dayTotal)) d.created = dayTotal;
          }
        }
        dayName = d.name;
      }
      for (const part of chunk(s.entries, ctx.batchSize)) {
        const groups = [...s.statics, ...(dayName ? [dayName] : [])];
        let r = await call(() =>
          ctx.client.addDevicesToGroups(
            productId,
            part.map((e) => e.deviceId),
            groups,
            { signal },
          ),
        );
        if (!r.ok && r.error.code === 'CLOUD_GROUP_NOT_FOUND' && s.day) {
          // The day's group was renamed under us: look it up and add again, once.
          dayNames.delete(dayKey(productId, s.day));
          const found = await lookUpDay(productId, s.day, signal);
          const d = days.get(s.day);
          if (found.ok && found.value && d) {
            d.name = found.value;
            d.created = undefined;
            dayName = found.value;
            r = await call(() =>
              ctx.client.addDevicesToGroups(
                productId,
                part.map((e) => e.deviceId),
                [...s.statics, found.value as string],
                { signal },
              ),
            );
          }
        }
        if (!r.ok) return ctx.failed(productId, part, racesRetry(r.error));
        if (s.day) {
          const d = days.get(s.day);
          if (d) {
            d.added += part.length;
            d.entries.push(...part);
          }
        } else ctx.done(productId, part);
      }
    }

    // A date group's members are done once its name carries the count.
    for (const [day, d] of days) {
      if (signal.aborted) return false;
      if (!d.name || d.entries.length === 0) continue;
      const exact = d.created !== undefined && d.created === d.added ? d.created : undefined;
      const r = await settleDay(productId, day, d.name, exact, signal);
      if (!r.ok) return ctx.failed(productId, d.entries, racesRetry(r.error));
      ctx.done(productId, d.entries);
    }
    return true;
  };

  return { send };
};

/**
 * A group that vanished or whose name got taken between two requests is another station at work,
 * not a refusal: the entries wait and try again.
 */
const racesRetry = (e: CloudError): CloudError =>
  e.code === 'CLOUD_GROUP_NOT_FOUND' || e.code === 'CLOUD_GROUP_EXISTS' ? { ...e, kind: 'backoff' } : e;

const lost = (productId: string, day: string): CloudError =>
  cloudError(
    'CLOUD_GROUP_NOT_FOUND',
    'backoff',
    `Product ${productId} has no date group for ${day} any more.`,
    {
      remedy: 'Nothing to do: the station looks for it again, or creates it.',
      details: { productId, day },
    },
  );

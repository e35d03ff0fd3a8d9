import type { z } from 'zod';
import { stationStateSchema } from './station';
import { profileWithReadinessSchema } from './views';

/**
 * Events the core pushes to the shells. Like methods, adding one is one entry; the IPC binding
 * and the bridges forward every name in this table.
 */
export const EVENTS = {
  /** The station's current profile changed (another was loaded, or it was locked). */
  'profile.changed': profileWithReadinessSchema,
  /** The line changed: a slot moved, a batch started or stopped (throttled to about 4 Hz). */
  'station.changed': stationStateSchema,
} as const;

export type Events = typeof EVENTS;
export type EventName = keyof Events;
export const EVENT_NAMES = Object.keys(EVENTS) as EventName[];
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export const isEventName = (name: unknown): name is EventName =>
  typeof name === 'string' && Object.hasOwn(EVENTS, name);

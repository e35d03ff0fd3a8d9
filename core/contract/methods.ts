import { z } from 'zod';
import { method, ROLES } from './define';
import { moduleViewSchema, profileWithReadinessSchema, readinessSchema } from './views';

/**
 * Every method the shells may call, with its role and the zod schemas of its request and
 * response. Adding a method is one entry here plus its handler in core/app/handlers; the IPC
 * binding, the preload bridge and the e2e bridge pick it up from this table.
 */
export const METHODS = {
  'session.get': method({
    role: 'operator',
    summary: 'Who is at the station and what they may do.',
    request: z.object({}).strict(),
    response: z.object({
      role: z.enum(ROLES),
      version: z.string(),
      /** False until the PIN unlock arrives; the UI hides the unlock button while it is false. */
      engineerUnlockAvailable: z.boolean(),
    }),
  }),
  'profile.current': method({
    role: 'operator',
    summary: 'The profile this station provisions, re-read from disk, with its readiness checklist.',
    request: z.object({}).strict(),
    response: profileWithReadinessSchema.nullable(),
  }),
  'profile.load': method({
    role: 'engineer',
    summary: 'Choose the profile this station provisions.',
    request: z.object({ path: z.string().min(1) }).strict(),
    response: profileWithReadinessSchema,
  }),
  'profile.check': method({
    role: 'operator',
    summary: 'Readiness checklist for a profile (the current one when no path is given).',
    request: z.object({ path: z.string().min(1).optional() }).strict(),
    response: readinessSchema,
  }),
  'profile.lock': method({
    role: 'engineer',
    summary: 'Pin firmware hashes and record the profile hash, after the checklist passes.',
    request: z.object({ path: z.string().min(1).optional(), relock: z.boolean().default(false) }).strict(),
    response: profileWithReadinessSchema,
  }),
  'firmware.inspect': method({
    role: 'engineer',
    summary: 'Read a firmware file and describe the Particle module(s) it holds.',
    request: z.object({ path: z.string().min(1) }).strict(),
    response: z.object({
      path: z.string(),
      sha256: z.string(),
      size: z.int(),
      modules: z.array(moduleViewSchema),
    }),
  }),
} as const;

export type Methods = typeof METHODS;
export type MethodName = keyof Methods;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

export const isMethodName = (name: unknown): name is MethodName =>
  typeof name === 'string' && Object.hasOwn(METHODS, name);

/** What a caller passes (defaults may be left out). */
export type RequestOf<M extends MethodName> = z.input<Methods[M]['request']>;
/** What a handler receives after validation (defaults filled in). */
export type ParsedRequestOf<M extends MethodName> = z.output<Methods[M]['request']>;
export type ResponseOf<M extends MethodName> = z.output<Methods[M]['response']>;

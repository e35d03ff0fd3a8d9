import { z } from 'zod';

/**
 * Who may call a method. Operators run the line; engineers change what it builds (profiles,
 * firmware, locks). The core enforces this (code FORBIDDEN), not the UI, so a compromised or
 * buggy renderer cannot do more than the session's rights allow.
 */
export const ROLES = ['operator', 'engineer'] as const;
export type Role = (typeof ROLES)[number];

export interface MethodSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly role: Role;
  /** One line for logs, docs and the audit trail. */
  readonly summary: string;
  readonly request: Req;
  readonly response: Res;
}

/** Identity helper that keeps each method's schema types precise inside the METHODS table. */
export const method = <Req extends z.ZodType, Res extends z.ZodType>(
  spec: MethodSpec<Req, Res>,
): MethodSpec<Req, Res> => spec;

/** An error as it crosses the shell boundary (IPC or the test bridge): plain data only. */
export const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  remedy: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorPayload = z.infer<typeof errorSchema>;

/** Every call answers with an envelope, never a thrown error: exceptions do not survive IPC intact. */
export type Envelope<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ErrorPayload };

/**
 * Errors are values: every failure a user can meet carries a stable code (for logs, exports,
 * Pareto charts and tests) and a sentence a person understands. Where there is something the
 * operator or engineer can do about it, `remedy` says what.
 */
export interface LsError<C extends string = string> {
  readonly code: C;
  readonly message: string;
  readonly remedy?: string;
  /** Structured facts for logs and --json output (addresses, status names, paths). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Result<T, C extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: LsError<C> };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const err = <C extends string>(
  code: C,
  message: string,
  extra: { remedy?: string; details?: Record<string, unknown> } = {},
): { ok: false; error: LsError<C> } => ({ ok: false, error: { code, message, ...extra } });

/**
 * An exception that carries an LsError, for code paths (deep async loops, callbacks) where
 * threading a Result through every frame would obscure the logic. Boundaries convert it back
 * to a value with `toLsError`.
 */
export class LsFailure<C extends string = string> extends Error {
  readonly error: LsError<C>;
  constructor(error: LsError<C>) {
    super(error.message);
    this.name = 'LsFailure';
    this.error = error;
  }
}

export const fail = <C extends string>(
  code: C,
  message: string,
  extra: { remedy?: string; details?: Record<string, unknown> } = {},
): never => {
  throw new LsFailure({ code, message, ...extra });
};

/** Turns anything thrown into an LsError; unknown exceptions become INTERNAL with their message. */
export const toLsError = (e: unknown, fallbackCode = 'INTERNAL'): LsError => {
  if (e instanceof LsFailure) return e.error;
  if (e instanceof Error && e.name === 'AbortError')
    return { code: 'ABORTED', message: 'The operation was cancelled.' };
  const message = e instanceof Error ? e.message : String(e);
  return { code: fallbackCode, message };
};

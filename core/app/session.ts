import type { Role } from '../contract/define';

/**
 * The rights of whoever stands at the station. It starts as operator. Engineer rights are
 * granted through `grantEngineer`, the hook the PIN unlock (a later issue) calls after it has
 * checked the PIN and written the audit entry; nothing else in the app may raise the role.
 */
export interface AppSession {
  readonly role: Role;
  grantEngineer(reason: string): void;
  dropToOperator(): void;
  /** Reasons rights were granted, newest last: the audit log writer reads these. */
  readonly grants: readonly { readonly at: string; readonly reason: string }[];
}

export const createSession = (
  initialRole: Role = 'operator',
  now: () => Date = () => new Date(),
): AppSession => {
  let role: Role = initialRole;
  const grants: { at: string; reason: string }[] = [];
  return {
    get role() {
      return role;
    },
    grantEngineer(reason) {
      role = 'engineer';
      grants.push({ at: now().toISOString(), reason });
    },
    dropToOperator() {
      role = 'operator';
    },
    grants,
  };
};

/** Whether a role may call a method marked `required`. */
export const mayCall = (role: Role, required: Role): boolean =>
  required === 'operator' || role === 'engineer';

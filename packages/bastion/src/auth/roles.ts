import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';
import type { AuthUser } from './current-user.js';

// Roles as data (after better-auth's access control): resources and their actions, then what
// each role is granted and in which scope. Bastion owns the ladder (member < moderator < admin,
// the users table's role column) and the admin's own rights (roles, locks, the audit log, the
// admin area); the application supplies its resources and what members and moderators may do
// with them (createBastion's `roles`), checked once at start. authorize() denies anything not
// written here: an unknown role, an unknown action, an ownership grant without a resource.

/** Bastion's own resources: the admin area's. An application may not declare or grant these. */
export const BASTION_STATEMENTS = {
  user: ['set-role', 'lock'],
  audit: ['read'],
  admin: ['access'],
} as const;

type BastionStatements = typeof BASTION_STATEMENTS;
export type BastionAction = { [R in keyof BastionStatements]: `${R}:${BastionStatements[R][number]}` }[keyof BastionStatements];

/** any: every resource · own: the resource's author is the user · others: a user other than oneself. */
export type Scope = 'any' | 'own' | 'others';
export type Grants = Readonly<Record<string, Scope>>;

/**
 * What an application says about its roles. `statements` are its resources and their actions
 * (`{ article: ['create', 'delete'] }`); `member` is what every signed-in account may do;
 * `moderator`, when given (even `{}`), makes the moderator role exist, with the member's grants
 * plus its own. The admin has the moderator's (or member's) grants plus Bastion's.
 */
export interface RoleOptions {
  readonly statements?: Readonly<Record<string, readonly string[]>>;
  readonly member?: Grants;
  readonly moderator?: Grants;
}

export class RoleOptionError extends Error {
  constructor(problems: readonly string[]) {
    super(`roles are refused: ${problems.join('; ')}`);
    this.name = 'RoleOptionError';
  }
}

// Admins cannot change their own role or lock themselves out: another admin must.
const ADMIN_GRANTS = {
  'user:set-role': 'others',
  'user:lock': 'others',
  'audit:read': 'any',
  'admin:access': 'any',
} as const satisfies Readonly<Record<BastionAction, Scope>>;

const SCOPES: readonly string[] = ['any', 'own', 'others'];
const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const APP_ROLES = ['member', 'moderator'] as const;

/** The thing acted upon: an article or comment (authorId), or an account (userId). */
export interface Resource {
  readonly authorId?: number | null;
  readonly userId?: number | null;
}

export type Actor = Pick<AuthUser, 'id' | 'role'>;

/** One application's role table, built once at start. */
export interface RolePolicy {
  /** The roles that exist in this application, lowest first (what an admin may assign). */
  readonly names: readonly Role[];
  /** Every role's grants, the inherited ones included. */
  readonly grants: Readonly<Partial<Record<Role, Grants>>>;
  /** True only when a grant of the user's role covers this action on this resource. */
  authorize(user: Actor | null | undefined, action: string, resource?: Resource): boolean;
  /** The user's role is `role` or above it on the ladder; false for a role this app does not have. */
  hasRole(user: Actor | null | undefined, role: Role): boolean;
}

function problemsOf(options: RoleOptions): string[] {
  const problems: string[] = [];
  const unknownKeys = Object.keys(options).filter((k) => !['statements', ...APP_ROLES].includes(k));
  for (const key of unknownKeys) {
    problems.push(
      key === 'admin'
        ? "'admin' is Bastion's role: its rights are the moderator's plus the admin area's"
        : `'${key}' is not a role (the roles are member, moderator and admin)`,
    );
  }
  const declared = new Set<string>();
  for (const [resource, actions] of Object.entries(options.statements ?? {})) {
    if (!NAME.test(resource)) problems.push(`resource '${resource}' is not a lower-case name`);
    else if (Object.hasOwn(BASTION_STATEMENTS, resource)) problems.push(`resource '${resource}' is Bastion's`);
    if (!Array.isArray(actions)) {
      problems.push(`resource '${resource}' must list its actions`);
      continue;
    }
    for (const action of actions as unknown[]) {
      if (typeof action !== 'string' || !NAME.test(action))
        problems.push(`action '${String(action)}' of '${resource}' is not a lower-case name`);
      else declared.add(`${resource}:${action}`);
    }
  }
  for (const role of APP_ROLES) {
    for (const [action, scope] of Object.entries(options[role] ?? {})) {
      if (!declared.has(action)) problems.push(`${role}: '${action}' is not a declared action`);
      if (!SCOPES.includes(scope)) problems.push(`${role}: '${action}' has scope '${String(scope)}' (any, own or others)`);
    }
  }
  return problems;
}

/** Checks the application's roles and builds its role table; RoleOptionError lists every problem at once. */
export function defineRoles(options: RoleOptions = {}): RolePolicy {
  const problems = problemsOf(options);
  if (problems.length > 0) throw new RoleOptionError(problems);
  const member: Grants = Object.freeze({ ...options.member });
  const moderator: Grants | undefined = options.moderator ? Object.freeze({ ...member, ...options.moderator }) : undefined;
  const admin: Grants = Object.freeze({ ...(moderator ?? member), ...ADMIN_GRANTS });
  const grants: Partial<Record<Role, Grants>> = moderator ? { member, moderator, admin } : { member, admin };
  Object.freeze(grants);
  const names = ROLES.filter((r) => Object.hasOwn(grants, r));
  const rank = new Map<string, number>(names.map((r, i) => [r, i]));

  return Object.freeze({
    names: Object.freeze(names),
    grants,
    authorize(user: Actor | null | undefined, action: string, resource?: Resource): boolean {
      if (!user || !Object.hasOwn(grants, user.role)) return false;
      const own = grants[user.role]!;
      if (!Object.hasOwn(own, action)) return false;
      switch (own[action]) {
        case 'any':
          return true;
        case 'own':
          return typeof resource?.authorId === 'number' && resource.authorId === user.id;
        case 'others':
          return typeof resource?.userId === 'number' && resource.userId !== user.id;
        default:
          return false;
      }
    },
    hasRole(user: Actor | null | undefined, role: Role): boolean {
      const have = user ? rank.get(user.role) : undefined;
      const need = rank.get(role);
      return have !== undefined && need !== undefined && have >= need;
    },
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's role table (createBastion's `roles`). */
    readonly roles: RolePolicy;
  }
}

/** The 403s deny() has audited already, so auditForbiddenErrors does not record them twice. */
const audited = new WeakSet<Error>();

/** 403, with an authz.deny audit entry. */
export async function deny(request: FastifyRequest, details: Record<string, string>): Promise<never> {
  await request.server.audit(request, 'authz.deny', {
    details: { method: request.method, route: request.routeOptions.url ?? '', ...details },
  });
  const refusal = new AppError('FORBIDDEN');
  audited.add(refusal);
  throw refusal;
}

/**
 * Audits every 403 a route in this context throws itself (an author check in a handler), the
 * way requireRole and assertCan audit theirs (those are not recorded twice).
 */
export function auditForbiddenErrors(app: FastifyInstance): void {
  app.addHook('onError', async function auditDenial(request, _reply, error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN' && request.user && !audited.has(error)) {
      await app.audit(request, 'authz.deny', { details: { method: request.method, route: request.routeOptions.url ?? '' } });
    }
  });
}

/**
 * The guard of a route declared `access: role` (installed by packages/bastion/src/http/route-rules.ts): anonymous
 * is 401 (the face answers it), a user without `role` or a higher one 403 and an authz.deny audit.
 */
export function requireRole(role: Role) {
  return async function requireRoleGuard(request: FastifyRequest): Promise<void> {
    if (!request.user) throw new AppError('UNAUTHORIZED');
    if (!request.server.roles.hasRole(request.user, role)) await deny(request, { need: role });
  };
}

/** For a route handler: throws 403 (and audits) unless the current user may do `action` on `resource`. */
export async function assertCan(request: FastifyRequest, action: string, resource?: Resource): Promise<void> {
  if (!request.user) throw new AppError('UNAUTHORIZED');
  if (!request.server.roles.authorize(request.user, action, resource)) await deny(request, { action });
}

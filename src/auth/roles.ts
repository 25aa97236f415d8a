import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';
import type { AuthUser } from './current-user.js';

// Roles as data (after better-auth's access control): the resources and their actions, then
// what each role is granted and in which scope. authorize() denies anything not written here:
// an unknown role, an unknown action, or an ownership grant without a resource to check.

export const STATEMENTS = {
  article: ['create', 'update', 'delete'],
  comment: ['create', 'delete'],
  user: ['set-role', 'lock'],
  audit: ['read'],
  admin: ['access'],
} as const;

type Statements = typeof STATEMENTS;
export type Action = { [R in keyof Statements]: `${R}:${Statements[R][number]}` }[keyof Statements];

/** any: every resource · own: the resource's author is the user · others: a user other than oneself. */
type Scope = 'any' | 'own' | 'others';
type Grants = Readonly<Partial<Record<Action, Scope>>>;

const member = {
  'article:create': 'any',
  'article:update': 'own',
  'article:delete': 'own',
  'comment:create': 'any',
  'comment:delete': 'own',
} as const satisfies Grants;

// Moderators may delete any article or comment, but edit only their own.
const moderator = { ...member, 'article:delete': 'any', 'comment:delete': 'any' } as const satisfies Grants;

// Admins cannot change their own role or lock themselves out: another admin must.
const admin = {
  ...moderator,
  'user:set-role': 'others',
  'user:lock': 'others',
  'audit:read': 'any',
  'admin:access': 'any',
} as const satisfies Grants;

export const ROLE_GRANTS: Readonly<Record<Role, Grants>> = Object.freeze({ member, moderator, admin });

/** The thing acted upon: an article or comment (authorId), or an account (userId). */
export interface Resource {
  readonly authorId?: number | null;
  readonly userId?: number | null;
}

type Actor = Pick<AuthUser, 'id' | 'role'>;

/** True only when a grant of the user's role covers this action on this resource. */
export function authorize(user: Actor | null | undefined, action: string, resource?: Resource): boolean {
  if (!user || !Object.hasOwn(ROLE_GRANTS, user.role)) return false;
  const grants = ROLE_GRANTS[user.role];
  if (!Object.hasOwn(grants, action)) return false;
  switch (grants[action as Action]) {
    case 'any':
      return true;
    case 'own':
      return typeof resource?.authorId === 'number' && resource.authorId === user.id;
    case 'others':
      return typeof resource?.userId === 'number' && resource.userId !== user.id;
    default:
      return false;
  }
}

/** `can(user, 'article:delete', { authorId })`. */
export const can: (user: Actor | null | undefined, action: Action, resource?: Resource) => boolean = authorize;

/** Roles in order of rights: each role has every grant of the ones before it. */
const RANK: Readonly<Record<Role, number>> = { member: 0, moderator: 1, admin: 2 };
export const hasRole = (user: Actor | null | undefined, role: Role): boolean =>
  !!user && Object.hasOwn(RANK, user.role) && RANK[user.role] >= RANK[role];

/** The 403s deny() has audited already, so auditForbiddenErrors does not record them twice. */
const audited = new WeakSet<Error>();

/** 403, with an authz.deny audit entry. */
export async function deny(request: FastifyRequest, details: Record<string, string>): Promise<never> {
  await request.server.audit(request, 'authz.deny', { details: { method: request.method, route: request.routeOptions.url ?? '', ...details } });
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
 * The guard of a route declared `access: role` (installed by src/http/route-rules.ts): anonymous
 * is 401 (the face answers it), a user without `role` or a higher one 403 and an authz.deny audit.
 */
export function requireRole(role: Role) {
  return async function requireRoleGuard(request: FastifyRequest): Promise<void> {
    if (!request.user) throw new AppError('UNAUTHORIZED');
    if (!hasRole(request.user, role)) await deny(request, { need: role });
  };
}

/** For a route handler: throws 403 (and audits) unless the current user may do `action` on `resource`. */
export async function assertCan(request: FastifyRequest, action: Action, resource?: Resource): Promise<void> {
  if (!request.user) throw new AppError('UNAUTHORIZED');
  if (!authorize(request.user, action, resource)) await deny(request, { action });
}

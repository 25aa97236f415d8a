import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';
import type { Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';
import { requireRole } from './roles.js';

// Deny by default, by construction: every route declares who may call it in its config
// (`config: { access: 'member' }`), packages/bastion/src/http/route-rules.ts refuses a route that does not, and
// installs the guard below as the route's first onRequest hook. No route writes its own guard,
// so none can forget one. How a refusal looks is the face's: 401 in the RealWorld shape under
// /api, the login page (coming back afterwards) for the pages (packages/bastion/src/http/error-handler.ts).

/** public: anyone · member: anyone signed in · moderator, admin: that role or a higher one. */
export const ACCESS = ['public', 'member', 'moderator', 'admin'] as const satisfies ReadonlyArray<'public' | Role>;
export type Access = (typeof ACCESS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; required on every route (packages/bastion/src/http/route-rules.ts). */
    access?: Access;
  }
}

export const isAccess = (value: unknown): value is Access => typeof value === 'string' && (ACCESS as readonly string[]).includes(value);

export type Guard = onRequestHookHandler | onRequestAsyncHookHandler;

// Callback style: a signed-in request goes on without a promise.
function requireUser(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  done(request.user === null ? new AppError('UNAUTHORIZED') : undefined);
}

const ROLE_GUARDS: Readonly<Record<Role, Guard>> = {
  member: requireUser,
  moderator: requireRole('moderator'),
  admin: requireRole('admin'),
};

/** The guard a declaration asks for, or null for a public route. Built once per role. */
export function accessGuard(access: Access): Guard | null {
  return access === 'public' ? null : ROLE_GUARDS[access];
}

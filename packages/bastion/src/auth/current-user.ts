import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';

// Who is making the request. Set by the session layer in the pages' scope and by the API-token
// layer in the /api scope (each face reads only its own credential); null for anonymous
// visitors. Nothing else may set it.
export interface AuthUser {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly bio: string;
  readonly image: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /**
     * The signed-in user, for a handler of a route declared for members (or a higher role).
     * Read without one — a route whose access was loosened — it throws 401, which the face turns
     * into its RealWorld error or the login page: never a null dereference and a 500. Lint
     * refuses `request.user!` for that reason.
     */
    readonly member: AuthUser;
  }
}

function signedInMember(this: FastifyRequest): AuthUser {
  if (this.user === null) throw new AppError('UNAUTHORIZED');
  return this.user;
}

export function registerCurrentUser(app: FastifyInstance): void {
  app.decorateRequest('user', null);
  app.decorateRequest('member', { getter: signedInMember });
}

import type { FastifyInstance } from 'fastify';
import type { Role } from '../db/schema.js';

// Who is making the request. Set by the session layer for HTML routes and by the API-token
// layer for /api; null for anonymous visitors. Nothing else may set it.
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
  }
}

export function registerCurrentUser(app: FastifyInstance): void {
  app.decorateRequest('user', null);
}

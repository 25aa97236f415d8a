import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/app-error.js';

// Route guards: deny unless someone is logged in. Use as `preHandler` on each route that needs
// a user; authorization (who may do what) is decided by the route after this.

/** /api: no valid token → 401 in the RealWorld error shape. */
export async function requireApiUser(request: FastifyRequest): Promise<void> {
  if (!request.user) throw new AppError('UNAUTHORIZED');
}

/** HTML: no session → to the login page, coming back here afterwards. */
export async function requirePageUser(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  if (request.user) return;
  // Only a GET can be safely repeated after login; a form post returns to its page's start.
  const next = request.method === 'GET' ? request.url : '/';
  return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import type { Runtime } from '../runtime.js';

// STUB — to be replaced by the sessions work (issue 3). Contract only.

export interface SessionManager {
  /** Logs the user in: drops any current session server-side, creates a new one, sets the cookie. */
  start(request: FastifyRequest, reply: FastifyReply, user: AuthUser): Promise<void>;
  /** Logs out: deletes the session server-side and clears the cookie. */
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Deletes every session of a user (password change, role change, lock, log out everywhere). */
  revokeAllForUser(userId: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionManager;
  }
}

export async function registerSessions(app: FastifyInstance, _runtime: Runtime): Promise<void> {
  app.decorate('sessions', {
    async start() {},
    async end() {},
    async revokeAllForUser() {},
  } satisfies SessionManager);
}

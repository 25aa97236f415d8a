import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.js';

// STUB — to be replaced by the rate-limit work (issue 3). Contract only.

export interface LoginGuard {
  /** Throws AppError('RATE_LIMITED') with a Retry-After header when this attempt must not proceed. */
  check(request: FastifyRequest, account: string): Promise<void>;
  /** Counts a failed attempt for the IP, the account+IP and the account. */
  failed(request: FastifyRequest, account: string): Promise<void>;
  /** Clears the consecutive-failure count for account+IP. */
  succeeded(request: FastifyRequest, account: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    loginGuard: LoginGuard;
    /** Throws AppError('RATE_LIMITED') past 5 registrations per hour per IP. */
    registrationLimit(request: FastifyRequest): Promise<void>;
  }
}

export async function registerRateLimits(app: FastifyInstance, _runtime: Runtime): Promise<void> {
  app.decorate('loginGuard', {
    async check() {},
    async failed() {},
    async succeeded() {},
  } satisfies LoginGuard);
  app.decorate('registrationLimit', async function registrationLimit() {});
}

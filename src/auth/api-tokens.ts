import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

// STUB — to be replaced by the API-token work (issue 3). Contract only.

export interface ApiTokens {
  /** A new opaque random token for the user; only its hash is stored. */
  issue(userId: number, label?: string): Promise<string>;
  revokeAllForUser(userId: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    apiTokens: ApiTokens;
  }
}

export async function registerApiTokens(app: FastifyInstance, _runtime: Runtime): Promise<void> {
  app.decorate('apiTokens', {
    async issue() {
      throw new Error('not implemented');
    },
    async revokeAllForUser() {},
  } satisfies ApiTokens);
}

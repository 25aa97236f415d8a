import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Role } from '../../src/db/schema.js';
import type { Runtime } from '../../src/runtime.js';
import { registerUser } from '../../src/conduit/users.js';

// Test fixtures for the Conduit API: users made through the real service (so passwords are
// hashed by the real hasher) with tokens from the real token store, without spending the
// registration rate limit that the API endpoints enforce.

export const STRONG_PASSWORD = 'violet-kettle-Tr0mbone-47';

export interface TestUser {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly token: string;
  readonly headers: Record<string, string>;
}

/**
 * A member made through the registration service, with its address marked confirmed in the
 * database as a fixture (as the role is set): the tests that use it are about what members do,
 * not about confirming (test/account-confirmation.test.ts is). `confirmed: false` leaves it as
 * registration does.
 */
export async function makeUser(app: FastifyInstance, runtime: Runtime, username: string, role: Role = 'member', options: { confirmed?: boolean } = {}): Promise<TestUser> {
  const email = `${username.toLowerCase()}@example.com`;
  const user = await registerUser(runtime.db.kysely, { username, email, password: STRONG_PASSWORD });
  if (options.confirmed !== false) await runtime.db.kysely.updateTable('users').set({ email_confirmed_at: new Date().toISOString() }).where('id', '=', user.id).execute();
  if (role !== 'member') await runtime.db.kysely.updateTable('users').set({ role }).where('id', '=', user.id).execute();
  const token = await app.apiTokens.issue(user.id, 'test');
  return { id: user.id, username, email, token, headers: { authorization: `Token ${token}` } };
}

/** app.inject with JSON in and out, and an optional user. */
export function api(app: FastifyInstance, method: InjectOptions['method'], url: string, options: { user?: TestUser; body?: unknown } = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...(options.user?.headers ?? {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
}

export async function postArticle(app: FastifyInstance, user: TestUser, article: { title: string; description?: string; body?: string; tagList?: string[] }): Promise<string> {
  const res = await api(app, 'POST', '/api/articles', { user, body: { article: { description: 'd', body: 'b', ...article } } });
  if (res.statusCode !== 201) throw new Error(`article not created: ${res.statusCode} ${res.body}`);
  return res.json().article.slug as string;
}

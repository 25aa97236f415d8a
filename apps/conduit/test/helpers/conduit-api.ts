import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Role, Runtime } from 'bastion';
import { registerUser, TestClient, type TestResponse } from 'bastion/testing';

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
 * not about confirming (apps/conduit/test/account-confirmation.test.ts is). `confirmed: false` leaves it as
 * registration does.
 */
export async function makeUser(
  app: FastifyInstance,
  runtime: Runtime,
  username: string,
  role: Role = 'member',
  options: { confirmed?: boolean } = {},
): Promise<TestUser> {
  const email = `${username.toLowerCase()}@example.com`;
  const user = await registerUser(runtime.db.kysely, { username, email, password: STRONG_PASSWORD });
  if (options.confirmed !== false)
    await runtime.db.kysely.updateTable('users').set({ email_confirmed_at: new Date().toISOString() }).where('id', '=', user.id).execute();
  if (role !== 'member') await runtime.db.kysely.updateTable('users').set({ role }).where('id', '=', user.id).execute();
  const token = await app.apiTokens.issue(user.id, 'test');
  return { id: user.id, username, email, token, headers: { authorization: `Token ${token}` } };
}

/**
 * A RealWorld API call, in process or (given a base URL) over a socket: JSON in and out, with an
 * optional token (or a user's).
 */
export function api(
  target: FastifyInstance | string,
  method: string,
  url: string,
  options: { user?: { token: string }; token?: string; body?: unknown } = {},
): Promise<TestResponse> {
  const token = options.token ?? options.user?.token;
  return new TestClient(target).request({
    method,
    url,
    ...(token ? { token } : {}),
    ...(options.body !== undefined ? { json: options.body } : {}),
  });
}

export interface Account {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

/** A fresh account's details, not yet registered. */
export function newAccount(): Account {
  const username = `u_${randomBytes(5).toString('hex')}`;
  return { username, email: `${username}@example.com`, password: `Correct ${randomBytes(9).toString('base64url')} horse battery` };
}

/** Registers through POST /api/users of the app at `base`; returns the token. */
export async function registerOverApi(base: string, account: Account): Promise<string> {
  const res = await api(base, 'POST', '/api/users', { body: { user: account } });
  assert.equal(res.statusCode, 201, `registration: ${res.body}`);
  return res.json().user.token as string;
}

export async function postArticle(
  app: FastifyInstance,
  user: TestUser,
  article: { title: string; description?: string; body?: string; tagList?: string[] },
): Promise<string> {
  const res = await api(app, 'POST', '/api/articles', { user, body: { article: { description: 'd', body: 'b', ...article } } });
  if (res.statusCode !== 201) throw new Error(`article not created: ${res.statusCode} ${res.body}`);
  return res.json().article.slug as string;
}

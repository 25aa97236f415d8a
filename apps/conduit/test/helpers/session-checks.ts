import type { FastifyPluginAsync } from 'fastify';
import type { TestClient, TestResponse } from 'bastion/testing';

// Small checks on a client's session, and a probe route, for the session and CSRF tests.

// Accounts straight in the database ship with the stack (the attack kit makes its callers so).
export { createUser, type TestUser } from 'bastion/testing';

export const sessionCookieOf = (res: TestResponse, name = 'session') => res.cookies.find((c) => c.name === name);

/** Whether the client's session is a live, logged-in one (the settings page needs a user). */
export async function isLoggedIn(client: TestClient): Promise<boolean> {
  const res = await client.get('/settings');
  if (res.statusCode === 200) return true;
  if (res.statusCode === 303 && String(res.headers.location).startsWith('/login')) return false;
  throw new Error(`unexpected /settings answer ${res.statusCode}`);
}

/** GET /api/test-probe, for members only: says who the API thinks is calling. Pass as `extraRoutes.api`. */
export const apiProbe: FastifyPluginAsync = async (api) => {
  const answer = { type: 'object', additionalProperties: false, required: ['username'], properties: { username: { type: 'string' } } };
  api.get('/test-probe', { config: { access: 'member' }, schema: { response: { 200: answer } } }, async (request) => ({
    username: request.member.username,
  }));
};

import type { FastifyInstance } from 'fastify';
import { loginBody, noQuery, registerBody, updateUserBody } from './schemas.js';
import { userJson } from './serialize.js';
import { userResponse } from './response-schemas.js';

// POST /users, POST /users/login, GET|PUT /user: routes and the RealWorld JSON only. The accounts
// themselves (the password queue, the limits, the second factor, audit, mail, tokens) are
// Bastion's app.apiAccounts (packages/bastion/src/accounts/api-accounts.ts).

interface RegisterBody {
  user: { username: string; email: string; password: string };
}
interface LoginBody {
  user: { email: string; password: string; otp?: string };
}
interface UpdateBody {
  user: { username?: string; email?: string; password?: string; currentPassword?: string; bio?: string | null; image?: string | null };
}

export async function usersApi(app: FastifyInstance): Promise<void> {
  app.post<{ Body: RegisterBody }>(
    '/users',
    { config: { access: 'public' }, schema: { body: registerBody, querystring: noQuery, response: { 201: userResponse } } },
    async (request, reply) => reply.code(201).send({ user: userJson(await app.apiAccounts.register(request, request.body.user)) }),
  );

  app.post<{ Body: LoginBody }>(
    '/users/login',
    { config: { access: 'public' }, schema: { body: loginBody, querystring: noQuery, response: { 200: userResponse } } },
    async (request) => ({ user: userJson(await app.apiAccounts.signIn(request, request.body.user)) }),
  );

  app.get(
    '/user',
    { config: { access: 'member' }, schema: { querystring: noQuery, response: { 200: userResponse } } },
    async (request) => ({
      user: userJson(app.apiAccounts.current(request)),
    }),
  );

  app.put<{ Body: UpdateBody }>(
    '/user',
    { config: { access: 'member' }, schema: { body: updateUserBody, querystring: noQuery, response: { 200: userResponse } } },
    async (request) => {
      // RealWorld clients send `"bio": null` to clear it; Bastion stores an empty bio.
      const { bio, ...rest } = request.body.user;
      return { user: userJson(await app.apiAccounts.changeOwn(request, { ...rest, ...(bio !== undefined ? { bio: bio ?? '' } : {}) })) };
    },
  );
}

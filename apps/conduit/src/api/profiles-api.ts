import type { FastifyInstance } from 'fastify';
import { follow, getProfile, unfollow } from '../conduit/profiles.js';
import type { Profile } from '../conduit/types.js';
import { AppError, type Runtime } from 'bastion';
import { followBody, noQuery } from './schemas.js';
import { usernameParams } from '../conduit/route-params.js';
import { profileJson } from './serialize.js';
import { profileResponse } from './response-schemas.js';
import { conduitDb } from '../conduit/tables.js';

// GET /profiles/:username, POST|DELETE /profiles/:username/follow.

interface Params {
  username: string;
}

function found(profile: Profile | null) {
  if (!profile) throw new AppError('NOT_FOUND', { profile: ['not found'] });
  return { profile: profileJson(profile) };
}

export async function profilesApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  const schema = { params: usernameParams, querystring: noQuery, response: { 200: profileResponse } };

  app.get<{ Params: Params }>('/profiles/:username', { config: { access: 'public' }, schema }, async (request) =>
    found(await getProfile(db, request.params.username, request.user?.id ?? null)),
  );

  app.post<{ Params: Params }>(
    '/profiles/:username/follow',
    { config: { access: 'member' }, schema: { ...schema, body: followBody } },
    async (request) => found(await follow(db, request.member.id, request.params.username)),
  );

  app.delete<{ Params: Params }>(
    '/profiles/:username/follow',
    { config: { access: 'member' }, schema: { ...schema, body: followBody } },
    async (request) => found(await unfollow(db, request.member.id, request.params.username)),
  );
}

import type { FastifyInstance } from 'fastify';
import { listArticles } from '../../conduit/articles.js';
import { follow, getProfile, unfollow } from '../../conduit/profiles.js';
import { AppError, pageRequest, paginate, type Runtime, safeNext } from 'bastion';
import { buttonBody, pageField, type ButtonBody } from './schemas.js';
import { usernameParams, type UsernameParams } from '../../conduit/route-params.js';
import { conduitDb } from '../../conduit/tables.js';

// A profile: who they are, their articles or the ones they favorited, and a follow button.

const profileQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { page: pageField, tab: { type: 'string', enum: ['articles', 'favorites'] } },
} as const;

const profilePath = (username: string): string => `/profile/${encodeURIComponent(username)}`;
const noSuchUser = (): AppError => new AppError('NOT_FOUND', { profile: ['not found'] });

export async function profilePages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  const button = { config: { access: 'member' as const }, schema: { params: usernameParams, body: buttonBody } };

  app.get<{ Params: UsernameParams; Querystring: { page: number; tab?: 'articles' | 'favorites' } }>(
    '/profile/:username',
    { config: { access: 'public' }, schema: { params: usernameParams, querystring: profileQuery } },
    async function profilePage(request, reply) {
      const viewer = request.user?.id ?? null;
      const profile = await getProfile(db, request.params.username, viewer);
      if (!profile) throw noSuchUser();
      const tab = request.query.tab ?? 'articles';
      const { page } = request.query;
      const filter = tab === 'favorites' ? { favorited: profile.username } : { author: profile.username };
      const list = await listArticles(db, filter, pageRequest(page), viewer);
      return reply.page('conduit/profile', {
        title: profile.username,
        profile,
        tab,
        articles: list.items,
        pagination: paginate(profilePath(profile.username), page, list.total, { tab: tab === 'favorites' ? tab : undefined }),
        back: request.url,
      });
    },
  );

  app.post<{ Params: UsernameParams; Body: ButtonBody }>('/profile/:username/follow', button, async function followUser(request, reply) {
    const profile = await follow(db, request.member.id, request.params.username);
    if (!profile) throw noSuchUser();
    return reply.redirect(safeNext(request.body.next ?? profilePath(profile.username)), 303);
  });

  app.post<{ Params: UsernameParams; Body: ButtonBody }>(
    '/profile/:username/unfollow',
    button,
    async function unfollowUser(request, reply) {
      const profile = await unfollow(db, request.member.id, request.params.username);
      if (!profile) throw noSuchUser();
      return reply.redirect(safeNext(request.body.next ?? profilePath(profile.username)), 303);
    },
  );
}

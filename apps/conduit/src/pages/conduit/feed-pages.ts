import type { FastifyInstance } from 'fastify';
import { feedArticles, listArticles } from '../../conduit/articles.js';
import { popularTags } from '../../conduit/tags.js';
import { pageRequest, paginate, type Runtime } from 'bastion';
import { pageField, tagField } from './schemas.js';
import { conduitDb } from '../../conduit/tables.js';

// The home page: the global feed (optionally one tag's articles) or, for a member, the feed of
// the authors they follow; the popular tags beside it.

const homeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { page: pageField, tag: tagField, feed: { type: 'string', enum: ['global', 'following'] } },
} as const;

interface HomeQuery {
  page: number;
  tag?: string;
  feed?: 'global' | 'following';
}

const POPULAR_TAGS = 20;

export async function feedPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);

  app.get<{ Querystring: HomeQuery }>(
    '/',
    { config: { access: 'public' }, schema: { querystring: homeQuery } },
    async function homePage(request, reply) {
      const { page } = request.query;
      const user = request.user;
      const tag = request.query.tag?.trim() || undefined;
      const feed = request.query.feed === 'following' ? 'following' : 'global';
      if (feed === 'following' && !user) return reply.redirect(`/login?next=${encodeURIComponent('/?feed=following')}`, 303);
      const [list, tags] = await Promise.all([
        feed === 'following' && user
          ? feedArticles(db, user.id, pageRequest(page))
          : listArticles(db, tag === undefined ? {} : { tag }, pageRequest(page), user?.id ?? null),
        popularTags(db, POPULAR_TAGS),
      ]);
      const params = feed === 'following' ? { feed } : { tag };
      return reply.page('conduit/home', {
        title: tag ? `#${tag}` : 'Home',
        feed,
        tag: feed === 'following' ? undefined : tag,
        articles: list.items,
        pagination: paginate('/', page, list.total, params),
        popularTags: tags,
        back: request.url,
      });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { noBody, noContent, requireMayWrite, type Runtime } from 'bastion';
import {
  createArticle,
  deleteArticle,
  favoriteArticle,
  feedArticles,
  getArticle,
  listArticles,
  unfavoriteArticle,
  updateArticle,
  type ArticleChanges,
  type ArticleInput,
} from '../conduit/articles.js';
import type { ArticleSummary, Page } from '../conduit/types.js';
import { feedQuery, listQuery, newArticleBody, noQuery, updateArticleBody } from './schemas.js';
import { slugParams } from '../conduit/route-params.js';
import { articleListResponse, articleResponse } from './response-schemas.js';
import { articleJson, articleSummaryJson } from './serialize.js';
import { conduitDb } from '../conduit/tables.js';

// GET|POST /articles, GET /articles/feed, GET|PUT|DELETE /articles/:slug,
// POST|DELETE /articles/:slug/favorite.

interface ListQuery {
  tag?: string;
  author?: string;
  favorited?: string;
  limit: number;
  offset: number;
}
interface SlugParams {
  slug: string;
}

const listJson = (page: Page<ArticleSummary>) => ({ articles: page.items.map(articleSummaryJson), articlesCount: page.total });

export async function articlesApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  // An account made on the pages writes once its address is confirmed, here too; one made here
  // writes at once unless ACCOUNT_CONFIRMATION=all (packages/bastion/src/accounts/account-mail.ts).
  const gateUnconfirmed = (userId: number): Promise<void> => requireMayWrite(db, runtime.config, app.site, userId);
  const bySlug = { params: slugParams, querystring: noQuery };
  const one = { 200: articleResponse, 201: articleResponse };
  const many = { 200: articleListResponse };

  app.get<{ Querystring: ListQuery }>(
    '/articles',
    { config: { access: 'public' }, schema: { querystring: listQuery, response: many } },
    async (request) => {
      const { tag, author, favorited, limit, offset } = request.query;
      return listJson(await listArticles(db, { tag, author, favorited }, { limit, offset }, request.user?.id ?? null));
    },
  );

  app.get<{ Querystring: { limit: number; offset: number } }>(
    '/articles/feed',
    { config: { access: 'member' }, schema: { querystring: feedQuery, response: many } },
    async (request) => listJson(await feedArticles(db, request.member.id, request.query)),
  );

  app.post<{ Body: { article: ArticleInput } }>(
    '/articles',
    { config: { access: 'member' }, schema: { body: newArticleBody, querystring: noQuery, response: one } },
    async (request, reply) => {
      await gateUnconfirmed(request.member.id);
      await app.writeLimit(request, 'article');
      const article = await createArticle(db, request.member.id, request.body.article);
      return reply.code(201).send({ article: articleJson(article) });
    },
  );

  app.get<{ Params: SlugParams }>(
    '/articles/:slug',
    { config: { access: 'public' }, schema: { ...bySlug, response: one } },
    async (request) => ({
      article: articleJson(await getArticle(db, request.params.slug, request.user?.id ?? null)),
    }),
  );

  app.put<{ Params: SlugParams; Body: { article: ArticleChanges } }>(
    '/articles/:slug',
    { config: { access: 'member' }, schema: { ...bySlug, body: updateArticleBody, response: one } },
    async (request) => {
      await gateUnconfirmed(request.member.id);
      // An edit re-renders the body as a new article does: it counts against the same limit.
      await app.writeLimit(request, 'article');
      return { article: articleJson(await updateArticle(db, request.params.slug, request.member, request.body.article)) };
    },
  );

  app.delete<{ Params: SlugParams }>(
    '/articles/:slug',
    { config: { access: 'member' }, schema: { ...bySlug, body: noBody, response: { 204: noContent } } },
    async (request, reply) => {
      const { moderated } = await deleteArticle(db, request.params.slug, request.member);
      if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'article.delete', slug: request.params.slug } });
      return reply.code(204).send();
    },
  );

  app.post<{ Params: SlugParams }>(
    '/articles/:slug/favorite',
    { config: { access: 'member' }, schema: { ...bySlug, body: noBody, response: one } },
    async (request) => ({
      article: articleJson(await favoriteArticle(db, request.params.slug, request.member.id)),
    }),
  );

  app.delete<{ Params: SlugParams }>(
    '/articles/:slug/favorite',
    { config: { access: 'member' }, schema: { ...bySlug, body: noBody, response: one } },
    async (request) => ({
      article: articleJson(await unfavoriteArticle(db, request.params.slug, request.member.id)),
    }),
  );
}

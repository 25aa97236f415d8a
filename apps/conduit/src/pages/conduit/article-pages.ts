import type { FastifyInstance } from 'fastify';
import { deleteArticle, favoriteArticle, unfavoriteArticle } from '../../conduit/articles.js';
import { queryInteger, type Runtime, safeNext } from 'bastion';
import { renderArticlePage } from './article-view.js';
import { buttonBody, type ButtonBody } from './schemas.js';
import { slugParams, type SlugParams } from '../../conduit/route-params.js';
import { conduitDb } from '../../conduit/tables.js';

// The article page and its buttons: favorite, unfavorite and delete. Authorization is the
// services' (apps/conduit/src/conduit/access.ts); these routes only require a member and redirect after.

const articlePath = (slug: string): string => `/article/${encodeURIComponent(slug)}`;

/** Which page of comments: older than comment `before`, or newer than comment `after` (apps/conduit/src/conduit/comments.ts). */
const commentCursor = {
  type: 'object',
  additionalProperties: false,
  properties: { before: queryInteger({ minimum: 1, maximum: 2_147_483_647 }), after: queryInteger({ minimum: 1, maximum: 2_147_483_647 }) },
} as const;
interface CommentCursorQuery {
  before?: number;
  after?: number;
}

export async function articlePages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  const button = { config: { access: 'member' as const }, schema: { params: slugParams, body: buttonBody } };

  app.get<{ Params: SlugParams; Querystring: CommentCursorQuery }>(
    '/article/:slug',
    { config: { access: 'public' }, schema: { params: slugParams, querystring: commentCursor } },
    async function articlePage(request, reply) {
      const { before, after } = request.query;
      // One cursor at a time: `after` (a "Newer" link) wins.
      const cursor = after !== undefined ? { after } : before !== undefined ? { before } : {};
      return renderArticlePage(db, request, reply, request.params.slug, undefined, cursor);
    },
  );

  app.post<{ Params: SlugParams; Body: ButtonBody }>('/article/:slug/favorite', button, async function favorite(request, reply) {
    await favoriteArticle(db, request.params.slug, request.member.id);
    return reply.redirect(safeNext(request.body.next ?? articlePath(request.params.slug)), 303);
  });

  app.post<{ Params: SlugParams; Body: ButtonBody }>('/article/:slug/unfavorite', button, async function unfavorite(request, reply) {
    await unfavoriteArticle(db, request.params.slug, request.member.id);
    return reply.redirect(safeNext(request.body.next ?? articlePath(request.params.slug)), 303);
  });

  app.post<{ Params: SlugParams; Body: ButtonBody }>('/article/:slug/delete', button, async function removeArticle(request, reply) {
    const { slug } = request.params;
    const { moderated } = await deleteArticle(db, slug, request.member);
    if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'article.delete', slug } });
    return reply.redirect('/', 303);
  });
}

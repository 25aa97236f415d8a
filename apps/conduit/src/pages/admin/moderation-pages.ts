import type { FastifyInstance } from 'fastify';
import { deleteArticle, listArticles } from '../../conduit/articles.js';
import { deleteComment } from '../../conduit/comments.js';
import { slugParams } from '../../conduit/route-params.js';
import {
  AppError,
  backWithNotice,
  buttonBody,
  type ButtonBody,
  idParams,
  type IdParams,
  listHref,
  pageField,
  pageRequest,
  paginate,
  type Runtime,
} from 'bastion';
import { commentPlace, recentComments } from './recent-comments.js';
import { conduitDb } from '../../conduit/tables.js';

// /admin/content: the newest articles or comments, each with a delete button, for moderators
// and admins. Deletion goes through the Conduit services, which check the role table again,
// and every deletion here is a content.moderate audit event naming what went and whose it was.

const NOTICES = { article: 'The article was deleted.', comment: 'The comment was deleted.' } as const;
type Notice = keyof typeof NOTICES;

const contentQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    show: { type: 'string', enum: ['articles', 'comments'], default: 'articles' },
    page: pageField,
    done: { type: 'string', enum: Object.keys(NOTICES) },
  },
} as const;
interface ContentQuery {
  show: 'articles' | 'comments';
  page: number;
  done?: Notice;
}

export async function moderationPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  const moderators = { config: { access: 'moderator' as const } };

  app.get<{ Querystring: ContentQuery }>(
    '/admin/content',
    { ...moderators, schema: { querystring: contentQuery } },
    async function contentPage(request, reply) {
      const { show, page, done } = request.query;
      const list = show === 'comments' ? await recentComments(db, pageRequest(page)) : await listArticles(db, {}, pageRequest(page), null);
      return reply.header('cache-control', 'no-store').page('admin/content', {
        title: 'Admin: content',
        tabs: app.adminTabs(request.member, 'content'),
        notice: done ? NOTICES[done] : null,
        show,
        items: list.items,
        total: list.total,
        pagination: paginate('/admin/content', page, list.total, { show: show === 'articles' ? undefined : show }),
        back: listHref('/admin/content', { show: show === 'articles' ? undefined : show, page }),
      });
    },
  );

  app.post<{ Params: { slug: string }; Body: ButtonBody }>(
    '/admin/content/articles/:slug/delete',
    { ...moderators, schema: { params: slugParams, body: buttonBody } },
    async function removeArticle(request, reply) {
      const { slug } = request.params;
      const author = await db
        .selectFrom('articles')
        .innerJoin('users', 'users.id', 'articles.author_id')
        .select('users.username')
        .where('articles.slug', '=', slug)
        .executeTakeFirst();
      if (!author) throw new AppError('NOT_FOUND');
      await deleteArticle(db, slug, request.member);
      await app.audit(request, 'content.moderate', { details: { action: 'article.delete', slug, author: author.username } });
      return reply.redirect(backWithNotice(request.body.back, '/admin/content', 'article'), 303);
    },
  );

  app.post<{ Params: IdParams; Body: ButtonBody }>(
    '/admin/content/comments/:id/delete',
    { ...moderators, schema: { params: idParams, body: buttonBody } },
    async function removeComment(request, reply) {
      const { id } = request.params;
      const place = await commentPlace(db, id);
      if (!place) throw new AppError('NOT_FOUND');
      await deleteComment(db, place.slug, id, request.member);
      await app.audit(request, 'content.moderate', {
        details: { action: 'comment.delete', slug: place.slug, commentId: id, author: place.author },
      });
      return reply.redirect(backWithNotice(request.body.back, '/admin/content?show=comments', 'comment'), 303);
    },
  );
}

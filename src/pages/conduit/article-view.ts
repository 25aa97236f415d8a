import type { FastifyReply, FastifyRequest } from 'fastify';
import { getArticle } from '../../conduit/articles.js';
import { commentsOf } from '../../conduit/comments.js';
import type { ConduitDb } from '../../conduit/types.js';
import { LIMITS } from '../../api/schemas.js';
import { can } from '../../auth/roles.js';

// Renders the article page; shared by GET /article/:slug and by a refused comment, which shows
// the page again with the message and the draft kept. The buttons shown follow the role grants
// (src/auth/roles.ts); the services check again on every POST.

export interface CommentDraft {
  readonly errors: readonly string[];
  readonly body: string;
}

export async function renderArticlePage(db: ConduitDb, request: FastifyRequest, reply: FastifyReply, slug: string, draft: CommentDraft = { errors: [], body: '' }): Promise<FastifyReply> {
  const user = request.user;
  const viewer = user?.id ?? null;
  const article = await getArticle(db, slug, viewer);
  const comments = await commentsOf(db, article.id, viewer);
  return reply.page('conduit/article', {
    title: article.title,
    article,
    comments: comments.map((c) => ({ ...c, canDelete: can(user, 'comment:delete', { authorId: c.author.id }) })),
    canEdit: can(user, 'article:update', { authorId: article.author.id }),
    canDelete: can(user, 'article:delete', { authorId: article.author.id }),
    commentErrors: draft.errors,
    commentDraft: draft.body,
    commentMax: LIMITS.comment,
    back: `/article/${encodeURIComponent(article.slug)}`,
  });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { getArticle } from '../../conduit/articles.js';
import { commentsOf, type CommentCursor } from '../../conduit/comments.js';
import type { ConduitDb } from '../../conduit/types.js';
import { LIMITS } from '../../api/schemas.js';
import { can } from '../../conduit/roles.js';

// Renders the article page; shared by GET /article/:slug and by a refused comment, which shows
// the page again with the message and the draft kept. The buttons shown follow the role grants
// (packages/bastion/src/auth/roles.ts); the services check again on every POST. Comments come a page at a time,
// newest first (apps/conduit/src/conduit/comments.ts): "Older" links `?before=` the last one shown, "Newer"
// `?after=` the first, so the page's size is bounded however many comments there are.

export interface CommentDraft {
  readonly errors: readonly string[];
  readonly body: string;
}

export async function renderArticlePage(
  db: ConduitDb,
  request: FastifyRequest,
  reply: FastifyReply,
  slug: string,
  draft: CommentDraft = { errors: [], body: '' },
  cursor: CommentCursor = {},
): Promise<FastifyReply> {
  const user = request.user;
  const viewer = user?.id ?? null;
  const article = await getArticle(db, slug, viewer);
  const comments = await commentsOf(db, article.id, viewer, cursor);
  const path = `/article/${encodeURIComponent(article.slug)}`;
  const first = comments.items[0];
  const last = comments.items[comments.items.length - 1];
  return reply.page('conduit/article', {
    title: article.title,
    article,
    comments: comments.items.map((c) => ({ ...c, canDelete: can(user, 'comment:delete', { authorId: c.author.id }) })),
    // An empty page (its cursor past the oldest comment) leads back to the newest.
    newerComments: comments.newer ? (first === undefined ? `${path}#comments` : `${path}?after=${first.id}#comments`) : null,
    olderComments: comments.older && last !== undefined ? `${path}?before=${last.id}#comments` : null,
    canEdit: can(user, 'article:update', { authorId: article.author.id }),
    canDelete: can(user, 'article:delete', { authorId: article.author.id }),
    commentErrors: draft.errors,
    commentDraft: draft.body,
    commentMax: LIMITS.comment,
    back: `/article/${encodeURIComponent(article.slug)}`,
  });
}

import type { FastifyInstance } from 'fastify';
import { addComment, deleteComment, listComments } from '../conduit/comments.js';
import { noBody } from '../http/route-rules.js';
import type { Runtime } from '../runtime.js';
import { commentParams, newCommentBody, noQuery, slugParams } from './schemas.js';
import { commentJson } from './serialize.js';

// GET|POST /articles/:slug/comments, DELETE /articles/:slug/comments/:id.

export async function commentsApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;

  app.get<{ Params: { slug: string } }>('/articles/:slug/comments', { config: { access: 'public' }, schema: { params: slugParams, querystring: noQuery } }, async (request) => ({
    comments: (await listComments(db, request.params.slug, request.user?.id ?? null)).map(commentJson),
  }));

  app.post<{ Params: { slug: string }; Body: { comment: { body: string } } }>(
    '/articles/:slug/comments',
    { config: { access: 'member' }, schema: { params: slugParams, querystring: noQuery, body: newCommentBody } },
    async (request) => {
      await app.writeLimit(request, 'comment');
      return { comment: commentJson(await addComment(db, request.params.slug, request.member.id, request.body.comment.body)) };
    },
  );

  app.delete<{ Params: { slug: string; id: number } }>(
    '/articles/:slug/comments/:id',
    { config: { access: 'member' }, schema: { params: commentParams, querystring: noQuery, body: noBody } },
    async (request, reply) => {
      const { slug, id } = request.params;
      const { moderated } = await deleteComment(db, slug, id, request.member);
      if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'comment.delete', slug, commentId: id } });
      return reply.code(204).send();
    },
  );
}

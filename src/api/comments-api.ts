import type { FastifyInstance } from 'fastify';
import { requireApiUser } from '../auth/guards.js';
import { addComment, deleteComment, listComments } from '../conduit/comments.js';
import type { Runtime } from '../runtime.js';
import { commentParams, newCommentBody, noQuery, slugParams } from './schemas.js';
import { commentJson } from './serialize.js';

// GET|POST /articles/:slug/comments, DELETE /articles/:slug/comments/:id.

export async function commentsApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;

  app.get<{ Params: { slug: string } }>('/articles/:slug/comments', { schema: { params: slugParams, querystring: noQuery } }, async (request) => ({
    comments: (await listComments(db, request.params.slug, request.user?.id ?? null)).map(commentJson),
  }));

  app.post<{ Params: { slug: string }; Body: { comment: { body: string } } }>(
    '/articles/:slug/comments',
    { preHandler: requireApiUser, schema: { params: slugParams, querystring: noQuery, body: newCommentBody } },
    async (request) => ({ comment: commentJson(await addComment(db, request.params.slug, request.user!.id, request.body.comment.body)) }),
  );

  app.delete<{ Params: { slug: string; id: number } }>(
    '/articles/:slug/comments/:id',
    { preHandler: requireApiUser, schema: { params: commentParams, querystring: noQuery } },
    async (request, reply) => {
      const { slug, id } = request.params;
      const { moderated } = await deleteComment(db, slug, id, request.user!);
      if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'comment.delete', slug, commentId: id } });
      return reply.code(204).send();
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { noBody, noContent, queryInteger, requireMayWrite, type Runtime } from 'bastion';
import { addComment, deleteComment, listComments } from '../conduit/comments.js';
import { commentParams, newCommentBody, noQuery } from './schemas.js';
import { slugParams } from '../conduit/route-params.js';
import { commentJson } from './serialize.js';
import { commentListResponse, commentResponse } from './response-schemas.js';
import { conduitDb } from '../conduit/tables.js';

// GET|POST /articles/:slug/comments, DELETE /articles/:slug/comments/:id.

/**
 * RealWorld's comment list has no paging: its clients show what they get. They get the newest
 * COMMENTS_API_LIMIT, newest first; `?before=<id>` pages further back (every comment reachable)
 * and `?limit=` asks for fewer. Bounded because a comment may be 20,000 characters, each up to
 * six in JSON: 50 of them are at most ~6 MB, where an unbounded list was tens of megabytes.
 */
export const COMMENTS_API_LIMIT = 50;

const commentsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: queryInteger({ minimum: 1, maximum: COMMENTS_API_LIMIT, default: COMMENTS_API_LIMIT }),
    before: queryInteger({ minimum: 1, maximum: 2_147_483_647 }),
  },
} as const;

export async function commentsApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  // An account made on the pages writes once its address is confirmed, here too; one made here
  // writes at once unless ACCOUNT_CONFIRMATION=all (packages/bastion/src/accounts/account-mail.ts).
  const gateUnconfirmed = (userId: number): Promise<void> => requireMayWrite(db, runtime.config, app.site, userId);

  app.get<{ Params: { slug: string }; Querystring: { limit: number; before?: number } }>(
    '/articles/:slug/comments',
    { config: { access: 'public' }, schema: { params: slugParams, querystring: commentsQuery, response: { 200: commentListResponse } } },
    async (request) => {
      const { limit, before } = request.query;
      const page = await listComments(db, request.params.slug, request.user?.id ?? null, before === undefined ? {} : { before }, limit);
      return { comments: page.items.map(commentJson) };
    },
  );

  app.post<{ Params: { slug: string }; Body: { comment: { body: string } } }>(
    '/articles/:slug/comments',
    {
      config: { access: 'member' },
      schema: { params: slugParams, querystring: noQuery, body: newCommentBody, response: { 200: commentResponse } },
    },
    async (request) => {
      await gateUnconfirmed(request.member.id);
      await app.writeLimit(request, 'comment');
      return { comment: commentJson(await addComment(db, request.params.slug, request.member.id, request.body.comment.body)) };
    },
  );

  app.delete<{ Params: { slug: string; id: number } }>(
    '/articles/:slug/comments/:id',
    { config: { access: 'member' }, schema: { params: commentParams, querystring: noQuery, body: noBody, response: { 204: noContent } } },
    async (request, reply) => {
      const { slug, id } = request.params;
      const { moderated } = await deleteComment(db, slug, id, request.member);
      if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'comment.delete', slug, commentId: id } });
      return reply.code(204).send();
    },
  );
}

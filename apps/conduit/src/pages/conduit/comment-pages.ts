import type { FastifyInstance } from 'fastify';
import { addComment, deleteComment } from '../../conduit/comments.js';
import { LIMITS } from '../../api/schemas.js';
import { mayWrite, queryInteger, type Runtime } from 'bastion';
import { renderArticlePage } from './article-view.js';
import { refusedAsTooFast } from './too-fast.js';
import { buttonBody, csrfField } from './schemas.js';
import { slugParams, type SlugParams } from '../../conduit/route-params.js';
import { conduitDb } from '../../conduit/tables.js';

// Adding and deleting comments from the article page. A blank comment shows the page again
// with a message; deleting is for the comment's author and for moderators (the service decides).

const commentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['body'],
  properties: { body: { type: 'string', maxLength: LIMITS.comment }, _csrf: csrfField },
} as const;

const commentParams = {
  type: 'object',
  additionalProperties: false,
  required: ['slug', 'id'],
  properties: { ...slugParams.properties, id: queryInteger({ minimum: 1, maximum: 2_147_483_647 }) },
} as const;

const commentsAnchor = (slug: string): string => `/article/${encodeURIComponent(slug)}#comments`;

export async function commentPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);

  app.post<{ Params: SlugParams; Body: { body: string } }>(
    '/article/:slug/comments',
    { config: { access: 'member' }, schema: { params: slugParams, body: commentBody } },
    async function postComment(request, reply) {
      const { slug } = request.params;
      const body = request.body.body.trim();
      if (body === '')
        return renderArticlePage(db, request, reply.code(422), slug, { errors: ["Comment can't be blank."], body: request.body.body });
      if (!(await mayWrite(db, runtime.config, request.member.id))) {
        return renderArticlePage(db, request, reply.code(403), slug, {
          errors: ['Confirm your email address before you comment: follow the link we mailed you, or send a new one from Settings.'],
          body: request.body.body,
        });
      }
      const limited = await refusedAsTooFast(() => app.writeLimit(request, 'comment'));
      if (limited !== null) {
        // The page again with the draft kept, rather than an error page that loses it.
        reply.code(429).headers(limited.headers ?? {});
        return renderArticlePage(db, request, reply, slug, {
          errors: ['You are commenting too quickly. Please wait a minute and try again.'],
          body: request.body.body,
        });
      }
      await addComment(db, slug, request.member.id, body);
      return reply.redirect(commentsAnchor(slug), 303);
    },
  );

  app.post<{ Params: SlugParams & { id: number } }>(
    '/article/:slug/comments/:id/delete',
    { config: { access: 'member' }, schema: { params: commentParams, body: buttonBody } },
    async function removeComment(request, reply) {
      const { slug, id } = request.params;
      const { moderated } = await deleteComment(db, slug, id, request.member);
      if (moderated) await app.audit(request, 'content.moderate', { details: { action: 'comment.delete', slug, commentId: id } });
      return reply.redirect(commentsAnchor(slug), 303);
    },
  );
}

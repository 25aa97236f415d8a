import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createArticle, getArticle, updateArticle, type ArticleInput } from '../../conduit/articles.js';
import { TAG_MAX, TAGS_PER_ARTICLE } from '../../conduit/tags.js';
import { LIMITS } from '../../api/schemas.js';
import { can } from '../../conduit/roles.js';
import { AppError, mayWrite, type Runtime, unconfirmedMessage } from 'bastion';
import { csrfField } from './schemas.js';
import { slugParams, type SlugParams } from '../../conduit/route-params.js';
import { refusedAsTooFast } from './too-fast.js';
import { conduitDb } from '../../conduit/tables.js';

// Writing and editing articles. A form with a mistake comes back with the messages and with
// what was typed (escaped by the template), never as a bare error page. Only the author may
// edit; everyone else gets 403, whatever they post.

const EDITOR_LIMITS = { ...LIMITS, tagList: TAGS_PER_ARTICLE * (TAG_MAX + 2) } as const;
const FIELDS = ['title', 'description', 'body', 'tagList'] as const;
type Field = (typeof FIELDS)[number];
type Values = Record<Field, string>;
type Errors = Record<string, string[]>;

const editorBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'description', 'body'],
  properties: {
    title: { type: 'string', maxLength: EDITOR_LIMITS.title },
    description: { type: 'string', maxLength: EDITOR_LIMITS.description },
    body: { type: 'string', maxLength: EDITOR_LIMITS.body },
    tagList: { type: 'string', maxLength: EDITOR_LIMITS.tagList },
    _csrf: csrfField,
  },
} as const;

const empty: Values = { title: '', description: '', body: '', tagList: '' };

/** The submitted fields that are plain strings (anything else is shown as empty). */
function submitted(body: unknown): Values {
  const source = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const values = { ...empty };
  for (const field of FIELDS) {
    const value = source[field];
    if (typeof value === 'string') values[field] = value.slice(0, EDITOR_LIMITS[field]);
  }
  return values;
}

export const splitTags = (text: string): string[] => [...new Set(text.split(/[\s,]+/).filter((t) => t !== ''))];

/** Schema problems as per-field messages a person can act on. */
function schemaErrors(request: FastifyRequest): Errors {
  // Field names can come from the attacker ("constructor", "__proto__"): with a null prototype
  // they are ordinary keys, not Object.prototype's members.
  const errors: Errors = Object.create(null);
  for (const v of request.validationError?.validation ?? []) {
    const params = v.params as { missingProperty?: string; additionalProperty?: string; limit?: number };
    const field = params.missingProperty ?? params.additionalProperty ?? (v.instancePath.split('/').pop() || 'form');
    const message = params.additionalProperty
      ? 'is not a field of this form'
      : params.missingProperty
        ? "can't be blank"
        : v.keyword === 'maxLength'
          ? `is too long (maximum is ${params.limit} characters)`
          : 'is invalid';
    (errors[field] ??= []).push(message);
  }
  return errors;
}

function checkInput(values: Values): { errors: Errors; input: ArticleInput } {
  const errors: Errors = {};
  const input = {
    title: values.title.trim(),
    description: values.description.trim(),
    body: values.body,
    tagList: splitTags(values.tagList),
  };
  if (input.title === '') errors.title = ["can't be blank"];
  if (input.description === '') errors.description = ["can't be blank"];
  if (input.body.trim() === '') errors.body = ["can't be blank"];
  if (input.tagList.length > TAGS_PER_ARTICLE) errors.tagList = [`has too many tags (maximum is ${TAGS_PER_ARTICLE})`];
  else if (input.tagList.some((t) => t.length > TAG_MAX))
    errors.tagList = [`has a tag that is too long (maximum is ${TAG_MAX} characters)`];
  return { errors, input };
}

function showEditor(reply: FastifyReply, slug: string | null, values: Values, errors: Errors = {}, unconfirmed = false): FastifyReply {
  if (Object.keys(errors).length > 0 && reply.statusCode < 400) reply.code(422);
  return reply.page('conduit/editor', {
    title: slug ? 'Edit article' : 'New article',
    slug,
    values,
    errors,
    limits: EDITOR_LIMITS,
    unconfirmed,
  });
}

/** A refusal the service gave as per-field messages (a body that renders too large or too slowly), or null. */
const fieldErrors = (err: unknown): Errors | null =>
  err instanceof AppError && err.code === 'VALIDATION' && err.fields !== undefined
    ? Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, [...v]]))
    : null;

export async function editorPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);

  /**
   * Counts the write (creating and editing count alike, SPEC §3 "content writes") and runs it;
   * a refusal comes back as the form with what was typed: 429 past the limit, 422 for a body
   * the renderer refuses.
   */
  async function write(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string | null,
    values: Values,
    work: () => Promise<{ slug: string }>,
  ): Promise<FastifyReply> {
    // An account that may not write yet keeps its draft and hears why (packages/bastion/src/accounts/account-mail.ts).
    if (!(await mayWrite(db, runtime.config, request.member.id)))
      return showEditor(reply.code(403), slug, values, { email: [unconfirmedMessage(app.site)] }, true);
    const limited = await refusedAsTooFast(() => app.writeLimit(request, 'article'));
    if (limited !== null) {
      reply.code(429).headers(limited.headers ?? {});
      return showEditor(reply, slug, values, { articles: ['are being saved too quickly: please wait a minute and try again'] });
    }
    try {
      const article = await work();
      return reply.redirect(`/article/${encodeURIComponent(article.slug)}`, 303);
    } catch (err) {
      const errors = fieldErrors(err);
      if (errors === null) throw err;
      return showEditor(reply, slug, values, errors);
    }
  }

  /** The article `slug`, if the user may edit it; 403 for anyone else. */
  async function editable(request: FastifyRequest, slug: string) {
    const article = await getArticle(db, slug, request.member.id);
    if (!can(request.member, 'article:update', { authorId: article.author.id }))
      throw new AppError('FORBIDDEN', { article: ['may only be changed by its author'] });
    return article;
  }

  app.get('/editor', { config: { access: 'member' } }, async function newArticleForm(request, reply) {
    return showEditor(reply, null, empty, {}, !(await mayWrite(db, runtime.config, request.member.id)));
  });

  app.post(
    '/editor',
    { config: { access: 'member' }, schema: { body: editorBody }, attachValidation: true },
    async function publish(request, reply) {
      const values = submitted(request.body);
      if (request.validationError) return showEditor(reply, null, values, schemaErrors(request));
      const { errors, input } = checkInput(values);
      if (Object.keys(errors).length > 0) return showEditor(reply, null, values, errors);
      return write(request, reply, null, values, () => createArticle(db, request.member.id, input));
    },
  );

  app.get<{ Params: SlugParams }>(
    '/editor/:slug',
    { config: { access: 'member' }, schema: { params: slugParams } },
    async function editForm(request, reply) {
      const article = await editable(request, request.params.slug);
      return showEditor(reply, article.slug, {
        title: article.title,
        description: article.description,
        body: article.body,
        tagList: article.tagList.join(', '),
      });
    },
  );

  app.post<{ Params: SlugParams }>(
    '/editor/:slug',
    { config: { access: 'member' }, schema: { params: slugParams, body: editorBody }, attachValidation: true },
    async function saveEdit(request, reply) {
      const { slug } = request.params;
      await editable(request, slug);
      const values = submitted(request.body);
      if (request.validationError) return showEditor(reply, slug, values, schemaErrors(request));
      const { errors, input } = checkInput(values);
      if (Object.keys(errors).length > 0) return showEditor(reply, slug, values, errors);
      return write(request, reply, slug, values, () => updateArticle(db, slug, request.member, input));
    },
  );
}

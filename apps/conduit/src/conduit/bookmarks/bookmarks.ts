import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Generated } from 'kysely';
import { AppError, buttonForm, createTableWithId, defineFeature, noBody, noContent, type Db, idParams, type IdParams } from 'bastion';
import { slugParams, type SlugParams } from '../route-params.js';
import { conduitDb } from '../tables.js';

// Private bookmarks, as one feature: a member bookmarks an article for later, and only that
// member ever sees or removes the bookmark. The table, the page, the API routes, the template
// and the limit are declared here together; Bastion puts each route in its face (the pages'
// session and CSRF, the API's bearer token) and refuses any route that does not say who may
// call it. Who owns a bookmark is decided in the queries below: every read and delete is
// `where user_id = <the caller>`, so another member's id is simply not found (404, never 403,
// which would confirm that it exists).

interface BookmarksTable {
  id: Generated<number>;
  user_id: number;
  article_id: number;
  created_at: string;
}

export interface Bookmark {
  readonly id: number;
  readonly slug: string;
  readonly title: string;
  readonly createdAt: string;
}

/** How many bookmarks the page and the API list, newest first. */
export const BOOKMARKS_LISTED = 100;

const tables = (db: Db) => conduitDb(db).$extendTables<{ bookmarks: BookmarksTable }>();

async function listBookmarks(db: Db, userId: number): Promise<Bookmark[]> {
  const rows = await tables(db)
    .selectFrom('bookmarks as b')
    .innerJoin('articles as a', 'a.id', 'b.article_id')
    .select(['b.id', 'b.created_at', 'a.slug', 'a.title'])
    .where('b.user_id', '=', userId)
    .orderBy('b.id', 'desc')
    .limit(BOOKMARKS_LISTED)
    .execute();
  return rows.map((r) => ({ id: r.id, slug: r.slug, title: r.title, createdAt: r.created_at }));
}

/** Bookmarks the article (once: a second time returns the first); 404 for an unknown slug. */
async function addBookmark(db: Db, userId: number, slug: string): Promise<Bookmark> {
  const article = await conduitDb(db).selectFrom('articles').select(['id', 'slug', 'title']).where('slug', '=', slug).executeTakeFirst();
  if (!article) throw new AppError('NOT_FOUND');
  // The unique (user_id, article_id) index makes a double click, or two at once, one bookmark.
  await tables(db)
    .insertInto('bookmarks')
    .values({ user_id: userId, article_id: article.id, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.columns(['user_id', 'article_id']).doNothing())
    .execute();
  const row = await tables(db)
    .selectFrom('bookmarks')
    .select(['id', 'created_at'])
    .where('user_id', '=', userId)
    .where('article_id', '=', article.id)
    .executeTakeFirstOrThrow();
  return { id: row.id, slug: article.slug, title: article.title, createdAt: row.created_at };
}

/** Removes the caller's own bookmark; anyone else's id, or an unknown one, is 404. */
async function removeBookmark(db: Db, userId: number, id: number): Promise<void> {
  const result = await tables(db).deleteFrom('bookmarks').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new AppError('NOT_FOUND');
}

const bookmarkJson = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'slug', 'title', 'createdAt'],
  properties: { id: { type: 'integer' }, slug: { type: 'string' }, title: { type: 'string' }, createdAt: { type: 'string' } },
} as const;

export const bookmarks = defineFeature({
  name: 'bookmarks',
  migrations: (db) => ({
    '001-bookmarks': {
      async up(k) {
        await createTableWithId(k, db.dialect, 'bookmarks')
          // A deleted account or article takes its bookmarks with it.
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('article_id', 'integer', (c) => c.notNull().references('articles.id').onDelete('cascade'))
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .execute();
        // Also the index every read uses (user_id first).
        await k.schema.createIndex('bookmarks_user_article').unique().on('bookmarks').columns(['user_id', 'article_id']).execute();
      },
      async down(k) {
        await k.schema.dropTable('bookmarks').execute();
      },
    },
  }),
  // From src/ and from the built dist/ alike: tsc copies no templates (as packages/bastion/src/http/views.ts's VIEWS_DIR).
  views: fileURLToPath(new URL('../../../src/conduit/bookmarks/views/', import.meta.url)),
  // Each bookmark is a row someone stores: per account, like Conduit's other writes (SPEC §3).
  limits: { write: { points: 30, duration: 60 } },

  async pages(app: FastifyInstance, { runtime: { db } }) {
    app.get('/bookmarks', { config: { access: 'member' } }, async function bookmarksPage(request, reply) {
      return reply.page('bookmarks/list', { title: 'Bookmarks', bookmarks: await listBookmarks(db, request.member.id) });
    });
    app.post<{ Params: SlugParams }>(
      '/article/:slug/bookmark',
      { config: { access: 'member', limit: 'write' }, schema: { params: slugParams, body: buttonForm } },
      async function bookmark(request, reply) {
        await addBookmark(db, request.member.id, request.params.slug);
        return reply.redirect('/bookmarks', 303);
      },
    );
    app.post<{ Params: IdParams }>(
      '/bookmarks/:id/delete',
      { config: { access: 'member', limit: 'write' }, schema: { params: idParams, body: buttonForm } },
      async function unbookmark(request, reply) {
        await removeBookmark(db, request.member.id, request.params.id);
        return reply.redirect('/bookmarks', 303);
      },
    );
  },

  async api(api: FastifyInstance, { runtime: { db } }) {
    const listed = {
      200: {
        type: 'object',
        additionalProperties: false,
        required: ['bookmarks'],
        properties: { bookmarks: { type: 'array', items: bookmarkJson } },
      },
    } as const;
    const one = {
      201: { type: 'object', additionalProperties: false, required: ['bookmark'], properties: { bookmark: bookmarkJson } },
    } as const;
    api.get('/bookmarks', { config: { access: 'member' }, schema: { response: listed } }, async function bookmarksJson(request) {
      return { bookmarks: await listBookmarks(db, request.member.id) };
    });
    api.post<{ Params: SlugParams }>(
      '/articles/:slug/bookmark',
      { config: { access: 'member', limit: 'write' }, schema: { params: slugParams, body: noBody, response: one } },
      async function bookmarkJson(request, reply) {
        return reply.code(201).send({ bookmark: await addBookmark(db, request.member.id, request.params.slug) });
      },
    );
    api.delete<{ Params: IdParams }>(
      '/bookmarks/:id',
      { config: { access: 'member', limit: 'write' }, schema: { params: idParams, body: noBody, response: { 204: noContent } } },
      async function unbookmarkJson(request, reply) {
        await removeBookmark(db, request.member.id, request.params.id);
        return reply.code(204).send();
      },
    );
  },
});

import { type Kysely, type SelectQueryBuilder } from 'kysely';
import { AppError, isUniqueViolation, prepared, type SlotFn } from 'bastion';
import type { ConduitDatabase } from './tables.js';
import { markdownPool } from '../content/markdown-pool.js';
import { RENDERER } from '../content/renderer-version.js';
import { actorNow, mayDeleteArticle, mayEditArticle, type Actor } from './access.js';
import { retrySlug, uniqueSlug } from './slugs.js';
import { setArticleTags } from './tags.js';
import { clampPage, type ArticleSummary, type ArticleView, type ConduitDb, type Page, type PageRequest, type ViewerId } from './types.js';

// Articles: listing (global, filtered, feed, search), reading, writing, favorites.
// Reads are one statement whatever the page size: the page with each article's sorted tags and
// the viewer's favorited/following flags (correlated subqueries on primary-key indexes) and the
// total; the hot ones are prepared once (packages/bastion/src/db/prepared.ts).
// Writes run in one transaction each; the Markdown is rendered and sanitized once here, at
// write time, on a worker thread and before any transaction opens (apps/conduit/src/content/markdown-pool.ts).

/** Narrows `articles` (only WHERE clauses; the listing adds joins, order and paging). */
export type ArticleScope = (
  qb: SelectQueryBuilder<ConduitDatabase, 'articles', object>,
) => SelectQueryBuilder<ConduitDatabase, 'articles', object>;

export interface ArticleFilter {
  readonly tag?: string;
  /** Username of the author. */
  readonly author?: string;
  /** Username of a user who favorited the article. */
  readonly favorited?: string;
}

export interface ArticleInput {
  readonly title: string;
  readonly description: string;
  readonly body: string;
  readonly tagList?: readonly string[];
}

export type ArticleChanges = Partial<ArticleInput>;

/** The values a prepared listing binds; a shape uses only some of them. */
interface ListValues {
  readonly viewer: number;
  readonly limit: number;
  readonly offset: number;
  readonly tag: string;
  readonly author: string;
  readonly favorited: string;
  readonly follower: number;
}

// A listing's shape: which filters it has (T tag, A author, F favorited, W the authors a
// follower follows) and whether a viewer's flags are computed (V). One prepared query per shape.
type Filters = Partial<Pick<ListValues, 'tag' | 'author' | 'favorited' | 'follower'>>;
const shapeOf = (f: Filters): string =>
  (f.tag !== undefined ? 'T' : '') +
  (f.author !== undefined ? 'A' : '') +
  (f.favorited !== undefined ? 'F' : '') +
  (f.follower !== undefined ? 'W' : '');

function scopeOf(shape: string, value: <K extends keyof Filters>(name: K) => NonNullable<Filters[K]>): ArticleScope {
  return (qb) => {
    let q = qb;
    if (shape.includes('A')) {
      q = q.where('articles.author_id', 'in', (eb) =>
        eb.selectFrom('users').select('users.id').where('users.username', '=', value('author')),
      );
    }
    if (shape.includes('T')) {
      q = q.where('articles.id', 'in', (eb) =>
        eb
          .selectFrom('article_tags')
          .innerJoin('tags', 'tags.id', 'article_tags.tag_id')
          .select('article_tags.article_id')
          .where('tags.name', '=', value('tag')),
      );
    }
    if (shape.includes('F')) {
      q = q.where('articles.id', 'in', (eb) =>
        eb
          .selectFrom('favorites')
          .innerJoin('users', 'users.id', 'favorites.user_id')
          .select('favorites.article_id')
          .where('users.username', '=', value('favorited')),
      );
    }
    if (shape.includes('W')) {
      q = q.where('articles.author_id', 'in', (eb) =>
        eb.selectFrom('follows').select('follows.followee_id').where('follows.follower_id', '=', value('follower')),
      );
    }
    return q;
  };
}

export function filterScope(filter: ArticleFilter): ArticleScope {
  return scopeOf(shapeOf(filter), (name) => filter[name as keyof ArticleFilter] as never);
}

/** Articles by the users `followerId` follows. */
export const feedScope = (followerId: number): ArticleScope => scopeOf('W', () => followerId as never);

function selectArticles(db: ConduitDb, scope: ArticleScope, viewer: ViewerId) {
  return scope(db.selectFrom('articles'))
    .innerJoin('users as author', 'author.id', 'articles.author_id')
    .select((eb) => {
      return [
        'articles.id',
        'articles.slug',
        'articles.title',
        'articles.description',
        'articles.created_at',
        'articles.updated_at',
        'articles.favorites_count',
        'articles.author_id',
        'author.username as author_username',
        'author.bio as author_bio',
        'author.image as author_image',
        // Sorted tag names kept on the row (migration 006): a text[] on PostgreSQL, JSON on SQLite.
        'articles.tag_list',
        viewer === null
          ? eb.lit(false).as('favorited')
          : eb
              .exists(
                eb
                  .selectFrom('favorites')
                  .select('favorites.user_id')
                  .where('favorites.user_id', '=', viewer)
                  .whereRef('favorites.article_id', '=', 'articles.id'),
              )
              .as('favorited'),
        viewer === null
          ? eb.lit(false).as('following')
          : eb
              .exists(
                eb
                  .selectFrom('follows')
                  .select('follows.follower_id')
                  .where('follows.follower_id', '=', viewer)
                  .whereRef('follows.followee_id', '=', 'articles.author_id'),
              )
              .as('following'),
      ];
    });
}

type ArticleRow = Awaited<ReturnType<ReturnType<typeof selectArticles>['executeTakeFirstOrThrow']>>;

const tagsOf = (row: ArticleRow): string[] => {
  const list = row.tag_list ?? [];
  return typeof list === 'string' ? (JSON.parse(list) as string[]) : list;
};

function toSummary(row: ArticleRow): ArticleSummary {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    tagList: tagsOf(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    favorited: Boolean(row.favorited),
    favoritesCount: Number(row.favorites_count),
    author: {
      id: row.author_id,
      username: row.author_username,
      bio: row.author_bio,
      image: row.author_image,
      following: Boolean(row.following),
    },
  };
}

// How many articles a listing has in all. The two common ones are kept by triggers instead of
// counted: every article (article_total, 005-article-total) and the articles with one tag
// (tags.articles_count, 002-performance); other filters count their rows.
function totalOf(db: Kysely<ConduitDatabase>, shape: string, slot: SlotFn<ListValues>) {
  const filters = shape.replace('V', '');
  if (filters === '') return db.selectFrom('article_total').select('article_total.articles as n').where('article_total.id', '=', 1);
  if (filters === 'T') return db.selectFrom('tags').select('tags.articles_count as n').where('tags.name', '=', slot('tag'));
  return scopeOf(shape, slot)(db.selectFrom('articles')).select((eb) => eb.fn.countAll<number>().as('n'));
}

// The hot listings (home page, GET /api/articles, feeds), prepared per shape (packages/bastion/src/db/prepared.ts):
// one statement per page, its total a scalar subquery evaluated once (no second round trip).
const countQuery = prepared<ListValues, { n: number }, ConduitDatabase>((db, slot, shape) => totalOf(db, shape, slot));
const pageQuery = prepared<ListValues, ArticleRow & { total: number }, ConduitDatabase>((db, slot, shape) => {
  const scope = scopeOf(shape, slot);
  return selectArticles(db, scope, shape.includes('V') ? slot('viewer') : null)
    .select(totalOf(db, shape, slot).as('total'))
    .orderBy('articles.created_at', 'desc')
    .orderBy('articles.id', 'desc')
    .limit(slot('limit'))
    .offset(slot('offset'));
});

async function listPrepared(
  db: ConduitDb,
  filters: Filters,
  request: Partial<PageRequest>,
  viewer: ViewerId,
): Promise<Page<ArticleSummary>> {
  const { limit, offset } = clampPage(request);
  const shape = shapeOf(filters);
  const values = { ...filters, limit, offset, ...(viewer === null ? {} : { viewer }) } as ListValues;
  const rows = await pageQuery.execute(db, values, viewer === null ? shape : `${shape}V`);
  // A page past the end has no row to carry the total: only then is it counted on its own.
  const total = rows.length > 0 ? rows[0]!.total : offset > 0 ? ((await countQuery.executeTakeFirst(db, values, shape))?.n ?? 0) : 0;
  return { items: rows.map(toSummary), total: Number(total) };
}

/** These articles' summaries, newest first as every listing is (an id no longer there is skipped): a search's page. */
export async function articleSummaries(db: ConduitDb, ids: readonly number[], viewer: ViewerId): Promise<ArticleSummary[]> {
  if (ids.length === 0) return [];
  const rows = await selectArticles(db, (qb) => qb.where('articles.id', 'in', ids), viewer)
    .orderBy('articles.created_at', 'desc')
    .orderBy('articles.id', 'desc')
    .execute();
  return rows.map(toSummary);
}

/** GET /api/articles and the home page: filtered by tag, author and/or favoriting user. */
export function listArticles(
  db: ConduitDb,
  filter: ArticleFilter,
  request: Partial<PageRequest>,
  viewer: ViewerId,
): Promise<Page<ArticleSummary>> {
  const filters: Filters = {
    ...(filter.tag !== undefined ? { tag: filter.tag } : {}),
    ...(filter.author !== undefined ? { author: filter.author } : {}),
    ...(filter.favorited !== undefined ? { favorited: filter.favorited } : {}),
  };
  return listPrepared(db, filters, request, viewer);
}

/** Articles by the authors `viewerId` follows. */
export function feedArticles(db: ConduitDb, viewerId: number, request: Partial<PageRequest>): Promise<Page<ArticleSummary>> {
  return listPrepared(db, { follower: viewerId }, request, viewerId);
}

const articleQuery = prepared<{ slug: string; viewer: number }, ArticleRow & { body: string; body_html: string }, ConduitDatabase>(
  (db, slot, shape) =>
    selectArticles(db, (qb) => qb.where('articles.slug', '=', slot('slug')), shape === 'V' ? slot('viewer') : null).select([
      'articles.body',
      'articles.body_html',
    ]),
);

/** One article by slug, or null. */
export async function findArticle(db: ConduitDb, slug: string, viewer: ViewerId): Promise<ArticleView | null> {
  const row = await articleQuery.executeTakeFirst(db, { slug, viewer: viewer ?? 0 }, viewer === null ? '' : 'V');
  if (!row) return null;
  return { ...toSummary(row), body: row.body, bodyHtml: row.body_html };
}

/** One article by slug; AppError NOT_FOUND when there is none. */
export async function getArticle(db: ConduitDb, slug: string, viewer: ViewerId): Promise<ArticleView> {
  const article = await findArticle(db, slug, viewer);
  if (!article) throw new AppError('NOT_FOUND', { article: ['not found'] });
  return article;
}

/**
 * The body's stored HTML. A body whose HTML would outgrow its bound (apps/conduit/src/content/markdown.ts)
 * or whose rendering passes the deadline is refused, as the client's mistake (422), and
 * nothing is written.
 */
async function renderBody(body: string): Promise<string> {
  const outcome = await markdownPool().render(body);
  if (outcome.ok) return outcome.html;
  throw new AppError('VALIDATION', { body: [outcome.reason === 'too-large' ? 'renders too large' : 'takes too long to render'] });
}

/** Creates an article with its tags, all or nothing. The slug comes from the title. */
export async function createArticle(db: ConduitDb, authorId: number, input: ArticleInput): Promise<ArticleView> {
  const bodyHtml = await renderBody(input.body);
  let slug = await uniqueSlug(db, input.title);
  for (let attempt = 0; ; attempt++) {
    try {
      await db.transaction().execute(async (trx) => {
        const now = new Date().toISOString();
        const { id } = await trx
          .insertInto('articles')
          .values({
            slug,
            title: input.title,
            description: input.description,
            body: input.body,
            body_html: bodyHtml,
            rendered_with: RENDERER,
            author_id: authorId,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await setArticleTags(trx, id, input.tagList ?? []);
      });
      return getArticle(db, slug, authorId);
    } catch (err) {
      // Only a slug taken between our check and our insert is retried.
      if (!isUniqueViolation(err) || attempt >= 2) throw err;
      slug = retrySlug(input.title);
    }
  }
}

async function articleOwner(db: ConduitDb, slug: string): Promise<{ id: number; author_id: number }> {
  const row = await db.selectFrom('articles').select(['id', 'author_id']).where('slug', '=', slug).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', { article: ['not found'] });
  return row;
}

/** Changes an article; only its author may. The slug stays as it was. */
export async function updateArticle(db: ConduitDb, slug: string, actor: Actor, changes: ArticleChanges): Promise<ArticleView> {
  const found = await articleOwner(db, slug);
  if (!mayEditArticle(actor, found.author_id)) throw new AppError('FORBIDDEN', { article: ['may only be changed by its author'] });
  const bodyHtml = changes.body === undefined ? undefined : await renderBody(changes.body);
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('articles')
      .set({
        ...(changes.title !== undefined ? { title: changes.title } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.body !== undefined && bodyHtml !== undefined
          ? { body: changes.body, body_html: bodyHtml, rendered_with: RENDERER }
          : {}),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', found.id)
      .execute();
    if (changes.tagList !== undefined) await setArticleTags(trx, found.id, changes.tagList);
  });
  return getArticle(db, slug, actor.id);
}

/** Deletes an article (its tags links, favorites and comments go with it). */
export async function deleteArticle(db: ConduitDb, slug: string, actor: Actor): Promise<{ moderated: boolean }> {
  return db.transaction().execute(async (trx) => {
    const found = await articleOwner(trx, slug);
    // Decided on the actor's role and lock as they are now, not as the request loaded them.
    const current = await actorNow(trx, actor.id);
    if (current === null || !mayDeleteArticle(current, found.author_id))
      throw new AppError('FORBIDDEN', { article: ['may only be deleted by its author'] });
    await trx.deleteFrom('articles').where('id', '=', found.id).execute();
    return { moderated: found.author_id !== actor.id };
  });
}

/** Favorites an article; idempotent; favorites_count moves in the same transaction. */
export async function favoriteArticle(db: ConduitDb, slug: string, userId: number): Promise<ArticleView> {
  await db.transaction().execute(async (trx) => {
    const article = await trx.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirst();
    if (!article) throw new AppError('NOT_FOUND', { article: ['not found'] });
    const added = await trx
      .insertInto('favorites')
      .values({ user_id: userId, article_id: article.id })
      .onConflict((oc) => oc.columns(['user_id', 'article_id']).doNothing())
      .returning('article_id')
      .executeTakeFirst();
    if (added)
      await trx
        .updateTable('articles')
        .set((eb) => ({ favorites_count: eb('favorites_count', '+', 1) }))
        .where('id', '=', article.id)
        .execute();
  });
  return getArticle(db, slug, userId);
}

/** Removes a favorite; idempotent; favorites_count moves in the same transaction. */
export async function unfavoriteArticle(db: ConduitDb, slug: string, userId: number): Promise<ArticleView> {
  await db.transaction().execute(async (trx) => {
    const article = await trx.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirst();
    if (!article) throw new AppError('NOT_FOUND', { article: ['not found'] });
    const removed = await trx
      .deleteFrom('favorites')
      .where('user_id', '=', userId)
      .where('article_id', '=', article.id)
      .returning('article_id')
      .executeTakeFirst();
    if (removed)
      await trx
        .updateTable('articles')
        .set((eb) => ({ favorites_count: eb('favorites_count', '-', 1) }))
        .where('id', '=', article.id)
        .execute();
  });
  return getArticle(db, slug, userId);
}

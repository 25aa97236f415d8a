import { AppError, prepared } from 'bastion';
import { actorNow, mayDeleteComment, type Actor } from './access.js';
import type { ConduitDatabase } from './tables.js';
import type { CommentView, ConduitDb, ViewerId } from './types.js';

// Comments on an article, newest first, a page at a time. Each page is one query: the comments
// with their authors and the viewer's following flag (a correlated EXISTS on the follows
// primary key), prepared once per shape.

const articleIdQuery = prepared<{ slug: string }, { id: number }, ConduitDatabase>((db, slot) =>
  db.selectFrom('articles').select('id').where('slug', '=', slot('slug')),
);

async function articleId(db: ConduitDb, slug: string): Promise<number> {
  const row = await articleIdQuery.executeTakeFirst(db, { slug });
  if (!row) throw new AppError('NOT_FOUND', { article: ['not found'] });
  return row.id;
}

function selectComments(db: ConduitDb, viewer: ViewerId) {
  return db
    .selectFrom('comments')
    .innerJoin('users as author', 'author.id', 'comments.author_id')
    .select((eb) => [
      'comments.id',
      'comments.body',
      'comments.created_at',
      'comments.updated_at',
      'comments.author_id',
      'author.username',
      'author.bio',
      'author.image',
      viewer === null
        ? eb.lit(false).as('following')
        : eb
            .exists(
              eb
                .selectFrom('follows')
                .select('follows.follower_id')
                .where('follows.follower_id', '=', viewer)
                .whereRef('follows.followee_id', '=', 'comments.author_id'),
            )
            .as('following'),
    ]);
}

type CommentRow = Awaited<ReturnType<ReturnType<typeof selectComments>['executeTakeFirstOrThrow']>>;

const toView = (r: CommentRow): CommentView => ({
  id: r.id,
  body: r.body,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  author: { id: r.author_id, username: r.username, bio: r.bio, image: r.image, following: Boolean(r.following) },
});

/** Comments on one page of the article page. */
export const COMMENTS_PER_PAGE = 20;

/**
 * Where a page of comments starts: the newest (neither), the ones older than comment `before`,
 * or the ones newer than comment `after`. Pages are read by id from a cursor (keyset), not by
 * offset: each costs a range of `limit` rows of the (article_id, id) index however deep it is,
 * so every comment stays reachable, and a link still shows the same comments after new ones
 * are posted.
 */
export interface CommentCursor {
  readonly before?: number;
  readonly after?: number;
}

export interface CommentPage {
  /** Newest first. */
  readonly items: CommentView[];
  /** There are comments newer than the first item (a link to them is worth showing). */
  readonly newer: boolean;
  /** There are comments older than the last item. */
  readonly older: boolean;
}

interface PageValues {
  readonly article: number;
  readonly viewer: number;
  readonly cursor: number;
  readonly limit: number;
}

// One prepared query per shape (packages/bastion/src/db/prepared.ts): B older than the cursor, A newer than it
// (read upwards, then turned round), V with the viewer's following flags.
const pageQuery = prepared<PageValues, CommentRow, ConduitDatabase>((db, slot, shape) => {
  let q = selectComments(db, shape.includes('V') ? slot('viewer') : null).where('comments.article_id', '=', slot('article'));
  if (shape.includes('B')) q = q.where('comments.id', '<', slot('cursor'));
  if (shape.includes('A')) q = q.where('comments.id', '>', slot('cursor'));
  return q.orderBy('comments.id', shape.includes('A') ? 'asc' : 'desc').limit(slot('limit'));
});

// Whether anything lies on the far side of the cursor: at or after `before`, at or before `after`.
const beyondQuery = prepared<Pick<PageValues, 'article' | 'cursor'>, { id: number }, ConduitDatabase>((db, slot, shape) =>
  db
    .selectFrom('comments')
    .select('id')
    .where('article_id', '=', slot('article'))
    .where('id', shape === 'B' ? '>=' : '<=', slot('cursor'))
    .limit(1),
);

/** A page of the comments on the article `slug` (see CommentCursor); NOT_FOUND for no article. */
export async function listComments(
  db: ConduitDb,
  slug: string,
  viewer: ViewerId,
  cursor: CommentCursor,
  limit: number,
): Promise<CommentPage> {
  return commentsOf(db, await articleId(db, slug), viewer, cursor, limit);
}

/** A page of the comments on an article already found (the article page has it): no second lookup by slug. */
export async function commentsOf(
  db: ConduitDb,
  articleId: number,
  viewer: ViewerId,
  cursor: CommentCursor = {},
  limit = COMMENTS_PER_PAGE,
): Promise<CommentPage> {
  const direction = cursor.after !== undefined ? 'A' : cursor.before !== undefined ? 'B' : '';
  const at = cursor.after ?? cursor.before ?? 0;
  // One row past the page says whether there is more in the direction read.
  const values = { article: articleId, viewer: viewer ?? 0, cursor: at, limit: limit + 1 };
  const [rows, beyond] = await Promise.all([
    pageQuery.execute(db, values, viewer === null ? direction : `${direction}V`),
    direction === '' ? Promise.resolve(undefined) : beyondQuery.executeTakeFirst(db, values, direction),
  ]);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (direction === 'A') return { items: page.reverse().map(toView), newer: more, older: beyond !== undefined };
  return { items: page.map(toView), newer: beyond !== undefined, older: more };
}

/** Adds a comment by `authorId` to the article `slug`. */
export async function addComment(db: ConduitDb, slug: string, authorId: number, body: string): Promise<CommentView> {
  const article = await articleId(db, slug);
  const now = new Date().toISOString();
  const { id } = await db
    .insertInto('comments')
    .values({ article_id: article, author_id: authorId, body, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return toView(await selectComments(db, authorId).where('comments.id', '=', id).executeTakeFirstOrThrow());
}

/** Deletes comment `id` of article `slug`: its author, or a moderator/admin. */
export async function deleteComment(db: ConduitDb, slug: string, id: number, actor: Actor): Promise<{ moderated: boolean }> {
  return db.transaction().execute(async (trx) => {
    const article = await articleId(trx, slug);
    const comment = await trx
      .selectFrom('comments')
      .select(['id', 'author_id'])
      .where('id', '=', id)
      .where('article_id', '=', article)
      .executeTakeFirst();
    if (!comment) throw new AppError('NOT_FOUND', { comment: ['not found'] });
    // Decided on the actor's role and lock as they are now, not as the request loaded them.
    const current = await actorNow(trx, actor.id);
    if (current === null || !mayDeleteComment(current, comment.author_id))
      throw new AppError('FORBIDDEN', { comment: ['may only be deleted by its author'] });
    await trx.deleteFrom('comments').where('id', '=', comment.id).execute();
    return { moderated: comment.author_id !== actor.id };
  });
}

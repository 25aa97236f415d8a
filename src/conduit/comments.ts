import { prepared } from '../db/prepared.js';
import { AppError } from '../http/app-error.js';
import { actorNow, mayDeleteComment, type Actor } from './access.js';
import type { CommentView, ConduitDb, ViewerId } from './types.js';

// Comments on an article, oldest first. Each list is one query: the comments with their
// authors and the viewer's following flag (a correlated EXISTS on the follows primary key),
// prepared once per shape.

const articleIdQuery = prepared<{ slug: string }, { id: number }>((db, slot) => db.selectFrom('articles').select('id').where('slug', '=', slot('slug')));

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
        : eb.exists(eb.selectFrom('follows').select('follows.follower_id').where('follows.follower_id', '=', viewer).whereRef('follows.followee_id', '=', 'comments.author_id')).as('following'),
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

// The article page and GET .../comments: prepared once per viewer shape (src/db/prepared.ts).
const listQuery = prepared<{ article: number; viewer: number }, CommentRow>((db, slot, shape) =>
  selectComments(db, shape === 'V' ? slot('viewer') : null)
    .where('comments.article_id', '=', slot('article'))
    .orderBy('comments.id')
    .limit(500),
);

/** The comments on the article `slug` (at most 500, oldest first); NOT_FOUND for no article. */
export async function listComments(db: ConduitDb, slug: string, viewer: ViewerId): Promise<CommentView[]> {
  return commentsOf(db, await articleId(db, slug), viewer);
}

/** The comments on an article already found (the article page has it): no second lookup by slug. */
export async function commentsOf(db: ConduitDb, articleId: number, viewer: ViewerId): Promise<CommentView[]> {
  const rows = await listQuery.execute(db, { article: articleId, viewer: viewer ?? 0 }, viewer === null ? '' : 'V');
  return rows.map(toView);
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
    const comment = await trx.selectFrom('comments').select(['id', 'author_id']).where('id', '=', id).where('article_id', '=', article).executeTakeFirst();
    if (!comment) throw new AppError('NOT_FOUND', { comment: ['not found'] });
    // Decided on the actor's role and lock as they are now, not as the request loaded them.
    const current = await actorNow(trx, actor.id);
    if (current === null || !mayDeleteComment(current, comment.author_id)) throw new AppError('FORBIDDEN', { comment: ['may only be deleted by its author'] });
    await trx.deleteFrom('comments').where('id', '=', comment.id).execute();
    return { moderated: comment.author_id !== actor.id };
  });
}

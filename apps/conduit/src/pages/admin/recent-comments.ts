import type { ConduitDb } from '../../conduit/types.js';

// The newest comments across every article, for the moderation page, and the article a
// comment belongs to (the comments service deletes by article slug and comment id).

/** Enough of a comment to judge it; the full text is on the article page. */
export const EXCERPT_MAX = 280;

export interface RecentComment {
  readonly id: number;
  readonly excerpt: string;
  readonly createdAt: string;
  readonly author: string;
  readonly slug: string;
  readonly articleTitle: string;
}

export async function recentComments(
  db: ConduitDb,
  page: { limit: number; offset: number },
): Promise<{ items: RecentComment[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('comments')
      .innerJoin('articles', 'articles.id', 'comments.article_id')
      .innerJoin('users as author', 'author.id', 'comments.author_id')
      .select(['comments.id', 'comments.body', 'comments.created_at', 'author.username', 'articles.slug', 'articles.title'])
      .orderBy('comments.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('comments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((r) => ({
      id: r.id,
      excerpt: r.body.length > EXCERPT_MAX ? `${r.body.slice(0, EXCERPT_MAX)}…` : r.body,
      createdAt: r.created_at,
      author: r.username,
      slug: r.slug,
      articleTitle: r.title,
    })),
    total: Number(count.n),
  };
}

/** The slug of the article comment `id` is on, and the comment's author, or undefined. */
export async function commentPlace(db: ConduitDb, id: number): Promise<{ slug: string; author: string } | undefined> {
  return db
    .selectFrom('comments')
    .innerJoin('articles', 'articles.id', 'comments.article_id')
    .innerJoin('users as author', 'author.id', 'comments.author_id')
    .select(['articles.slug', 'author.username as author'])
    .where('comments.id', '=', id)
    .executeTakeFirst();
}

import type { Transaction } from 'kysely';
import { prepared } from 'bastion';
import type { ConduitDatabase } from './tables.js';
import type { ConduitDb } from './types.js';

// Tags: a name table and the article_tags join. Names are trimmed and de-duplicated; the
// API schema already bounds their count (20) and length (64).

export const TAG_MAX = 64;
export const TAGS_PER_ARTICLE = 20;

export function normalizeTags(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))].sort();
}

/** Replaces the tags of an article; call inside the article's transaction. */
export async function setArticleTags(trx: Transaction<ConduitDatabase>, articleId: number, names: readonly string[]): Promise<void> {
  await trx.deleteFrom('article_tags').where('article_id', '=', articleId).execute();
  const tags = normalizeTags(names);
  if (tags.length === 0) return;
  await trx
    .insertInto('tags')
    .values(tags.map((name) => ({ name })))
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // In id order: the count triggers then lock tag rows in one order in every transaction, so
  // two articles saved at once with the same tags wait for each other instead of deadlocking.
  const rows = await trx.selectFrom('tags').select('id').where('name', 'in', tags).orderBy('id').execute();
  await trx
    .insertInto('article_tags')
    .values(rows.map((r) => ({ article_id: articleId, tag_id: r.id })))
    .execute();
}

const popularQuery = prepared<{ limit: number }, { name: string }, ConduitDatabase>((db, slot) =>
  db
    .selectFrom('tags')
    .select('name')
    .where('articles_count', '>', 0)
    .orderBy('articles_count', 'desc')
    .orderBy('name')
    .limit(slot('limit')),
);

/** The tags in use, most used first (at most `limit`); the counts are kept by the database (002-performance). */
export async function popularTags(db: ConduitDb, limit = 100): Promise<string[]> {
  return (await popularQuery.execute(db, { limit })).map((r) => r.name);
}

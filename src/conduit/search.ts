import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '../db/schema.js';
import { listArticlesIn } from './articles.js';
import type { ArticleSummary, ConduitDb, Page, PageRequest, ViewerId } from './types.js';

// Full-text-ish search over title, description and body that behaves the same on SQLite and
// PostgreSQL: every word must appear (case-insensitively) in one of the three fields. Words
// are bound as parameters, and LIKE's own wildcards in them (% _ \) are escaped, so a search
// for "100%" finds "100%" and not everything.

export const SEARCH_MAX = 200;
const MAX_WORDS = 8;

/** `50%_off\` → `50\%\_off\\` for use with ESCAPE '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The distinct words of a query, lower-cased, at most 8. */
export function searchWords(query: string): string[] {
  return [...new Set(query.slice(0, SEARCH_MAX).toLowerCase().split(/\s+/).filter((w) => w !== ''))].slice(0, MAX_WORDS);
}

function contains(column: 'articles.title' | 'articles.description' | 'articles.body', pattern: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape ${'\\'}`;
}

function matchesWord(eb: ExpressionBuilder<Database, 'articles'>, word: string): Expression<SqlBool> {
  const pattern = `%${escapeLike(word)}%`;
  return eb.or([contains('articles.title', pattern), contains('articles.description', pattern), contains('articles.body', pattern)]);
}

/** Articles matching every word of `query`, newest first; an empty query finds nothing. */
export async function searchArticles(db: ConduitDb, query: string, page: Partial<PageRequest>, viewer: ViewerId): Promise<Page<ArticleSummary>> {
  const words = searchWords(query);
  if (words.length === 0) return { items: [], total: 0 };
  return listArticlesIn(db, (qb) => qb.where((eb) => eb.and(words.map((w) => matchesWord(eb, w)))), page, viewer);
}

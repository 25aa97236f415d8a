import { SqliteAdapter, sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { admitScan, AppError, type Db, escapeLike } from 'bastion';
import { conduitDb, type ConduitDatabase } from './tables.js';
import { articleSummaries, type ArticleScope } from './articles.js';
import { clampPage, type ArticleSummary, type ConduitDb, type Page, type PageRequest, type ViewerId } from './types.js';

// Full-text-ish search over title, description and body that behaves the same on SQLite and
// PostgreSQL: every word must appear (case-insensitively) in one of the three fields. Words
// are bound as parameters, and LIKE's own wildcards in them (% _ \) are escaped, so a search
// for "100%" finds "100%" and not everything.
//
// Speed comes from trigram indexes (migration 003-search). PostgreSQL uses its pg_trgm indexes
// for these very LIKE conditions. SQLite cannot index LIKE, so there a word of three or more
// characters is looked up in the FTS5 trigram table instead, as a quoted phrase: a literal
// substring, case-insensitive, with no wildcards at all. Shorter words (which no trigram index
// can look up) stay LIKE conditions on both.
//
// Such a condition reads every article, so the matching is kept apart from the rest of the app:
// it is admitted a few scans at a time (packages/bastion/src/security/scan-admission.ts), and on SQLite it
// runs on a reader thread (Db.scan), not on the event loop. It is one statement, the page's ids
// with the total counted in the same pass (count(*) over ()); the page's articles are then read
// by id, on their primary key. It stops at its deadline (packages/bastion/src/db/scan-deadline.ts), or when the
// client hangs up.
//
// What one article costs to match grows with the body (up to 100,000 characters) times the
// length of the words: an FTS5 phrase is checked at every place its first trigram occurs, a LIKE
// at every place its first character does. Over bodies of `a`×99,000 a 200-character word cost
// 86 ms of CPU per article on SQLite (and PostgreSQL's LIKE recheck is alike). The words are
// therefore bounded: at most 8, each at most 64 characters, 200 in all. That bounds one row's
// cost (about 26 ms for a 64-character word, 86 ms for the longest query), and the deadline
// bounds how many rows a search may go through; nothing then grows with the data.

export const SEARCH_MAX = 200;
/** Words searched for at most; later ones are not (the page says so). */
export const SEARCH_WORDS_MAX = 8;
/** A longer word is refused: no article has one, and it is the costliest thing to match. */
export const SEARCH_WORD_MAX = 64;
/** The trigram tokenizer cannot look up anything shorter. */
const TRIGRAM = 3;

export { escapeLike } from 'bastion';

export interface SearchTerms {
  /** The distinct words searched for, lower-cased, at most SEARCH_WORDS_MAX. */
  readonly words: string[];
  /** Distinct words past SEARCH_WORDS_MAX, left out. */
  readonly leftOut: number;
  /** The first word longer than SEARCH_WORD_MAX characters, if any: the query is then refused. */
  readonly tooLong?: string;
}

/** A query's words, and what is wrong with them. */
export function searchTerms(query: string): SearchTerms {
  const all = [
    ...new Set(
      query
        .slice(0, SEARCH_MAX)
        .toLowerCase()
        .split(/\s+/)
        .filter((w) => w !== ''),
    ),
  ];
  const tooLong = all.find((w) => [...w].length > SEARCH_WORD_MAX);
  return {
    words: all.slice(0, SEARCH_WORDS_MAX),
    leftOut: Math.max(0, all.length - SEARCH_WORDS_MAX),
    ...(tooLong === undefined ? {} : { tooLong }),
  };
}

/** The distinct words of a query, lower-cased, at most 8. */
export function searchWords(query: string): string[] {
  return searchTerms(query).words;
}

/** What the client is told when a word is too long. */
export const WORD_TOO_LONG = `has a word longer than ${SEARCH_WORD_MAX} characters`;

/** An FTS5 query that finds rows holding every word as a literal substring: `"w1" AND "w2"`. */
export function ftsPhrases(words: readonly string[]): string {
  return words.map((w) => `"${w.replaceAll('"', '""')}"`).join(' AND ');
}

// PostgreSQL's LIKE is case-sensitive: the column is lower-cased, as its trigram indexes are.
// SQLite's LIKE already ignores case, and only ASCII case, exactly as its lower() folds (no ICU):
// there lower() would only copy every body once more per search, which doubled a full scan
// (34–41 against 17–27 ms over 10,000 articles), with the same matches.
function contains(
  column: 'articles.title' | 'articles.description' | 'articles.body',
  pattern: string,
  sqlite: boolean,
): Expression<SqlBool> {
  const text = sqlite ? sql.ref(column) : sql`lower(${sql.ref(column)})`;
  return sql<SqlBool>`${text} like ${pattern} escape ${'\\'}`;
}

function matchesWord(eb: ExpressionBuilder<ConduitDatabase, 'articles'>, word: string, sqlite: boolean): Expression<SqlBool> {
  const pattern = `%${escapeLike(word)}%`;
  return eb.or([
    contains('articles.title', pattern, sqlite),
    contains('articles.description', pattern, sqlite),
    contains('articles.body', pattern, sqlite),
  ]);
}

function searchScope(db: ConduitDb, words: readonly string[]): ArticleScope {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const indexed = sqlite ? words.filter((w) => [...w].length >= TRIGRAM) : [];
  const scanned = words.filter((w) => !indexed.includes(w));
  return (qb) => {
    let q = qb;
    if (scanned.length > 0) q = q.where((eb) => eb.and(scanned.map((w) => matchesWord(eb, w, sqlite))));
    if (indexed.length > 0)
      q = q.where(
        sql<SqlBool>`${sql.ref('articles.id')} in (select rowid from articles_search where articles_search match ${ftsPhrases(indexed)})`,
      );
    return q;
  };
}

/**
 * Articles matching every word of `query`, newest first; an empty query finds nothing, one with
 * a word over SEARCH_WORD_MAX is refused (422). `signal`: the client's (clientGone).
 */
export async function searchArticles(
  db: Db,
  query: string,
  page: Partial<PageRequest>,
  viewer: ViewerId,
  signal?: AbortSignal,
): Promise<Page<ArticleSummary>> {
  const { words, tooLong } = searchTerms(query);
  if (tooLong !== undefined) throw new AppError('VALIDATION', { q: [WORD_TOO_LONG] });
  if (words.length === 0) return { items: [], total: 0 };
  const { limit, offset } = clampPage(page);
  const kysely = conduitDb(db);
  const matches = searchScope(kysely, words)(kysely.selectFrom('articles'));
  const { ids, total } = await admitScan(db, signal === undefined ? {} : { signal }, async (scan) => {
    const rows = await scan(
      matches
        .select(['articles.id', sql<number>`count(*) over ()`.as('total')])
        .orderBy('articles.created_at', 'desc')
        .orderBy('articles.id', 'desc')
        .limit(limit)
        .offset(offset),
    );
    if (rows.length > 0 || offset === 0) return { ids: rows.map((r) => r.id), total: Number(rows[0]?.total ?? 0) };
    // A page past the end has no row to carry the total: only then is it counted on its own.
    const [counted] = await scan(matches.select((eb) => eb.fn.countAll<number>().as('n')));
    return { ids: [], total: Number(counted?.n ?? 0) };
  });
  return { items: await articleSummaries(kysely, ids, viewer), total };
}

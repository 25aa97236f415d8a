import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { Database, Db } from 'bastion';

// Conduit's tables: its migrations (./migrations/) make exactly these. Bastion's Database knows
// only the stack's tables (the stack never knows the app); Conduit's code adds its own through
// Kysely's $extendTables, as every app does (examples/guestbook/src/messages.ts). Times are
// ISO-8601 UTC strings, as the stack's.

export interface ArticlesTable {
  id: Generated<number>;
  slug: string;
  title: string;
  description: string;
  body: string;
  /** Sanitized HTML rendered from body when the article is written, so reads never re-render. */
  body_html: string;
  /** The renderer that produced body_html (apps/conduit/src/content/renderer-version.ts); '' for unknown (migration 008). */
  rendered_with: ColumnType<string, string | undefined, string>;
  author_id: number;
  favorites_count: Generated<number>;
  /** The sorted tag names, kept by triggers on article_tags (migration 006): JSON text on SQLite, text[] on PostgreSQL. */
  tag_list: ColumnType<string | string[], never, never>;
  created_at: string;
  updated_at: string;
}

export interface TagsTable {
  id: Generated<number>;
  name: string;
  /** How many articles carry the tag: kept by triggers on article_tags (002-performance). */
  articles_count: Generated<number>;
}

/** One row (id 1): how many articles exist, kept by triggers on articles (005-article-total). */
export interface ArticleTotalTable {
  id: number;
  articles: number;
}

export interface ArticleTagsTable {
  article_id: number;
  tag_id: number;
}

export interface FavoritesTable {
  user_id: number;
  article_id: number;
}

export interface FollowsTable {
  follower_id: number;
  followee_id: number;
}

export interface CommentsTable {
  id: Generated<number>;
  article_id: number;
  author_id: number;
  body: string;
  created_at: string;
  updated_at: string;
}

// A type, not an interface: $extendTables wants a string-indexable record.
export type ConduitTables = {
  articles: ArticlesTable;
  tags: TagsTable;
  article_tags: ArticleTagsTable;
  article_total: ArticleTotalTable;
  favorites: FavoritesTable;
  follows: FollowsTable;
  comments: CommentsTable;
};

/** The stack's tables and Conduit's: what Conduit's queries see. */
export type ConduitDatabase = Database & ConduitTables;

/** Conduit's tables, at run time: what tests walk (its migrations bring exactly these). */
export const CONDUIT_TABLE_NAMES = [
  'articles',
  'tags',
  'article_tags',
  'article_total',
  'favorites',
  'follows',
  'comments',
] as const satisfies readonly (keyof ConduitTables)[];
// Fails to compile while a table of ConduitTables is missing from the list above.
const everyTableListed: [Exclude<keyof ConduitTables, (typeof CONDUIT_TABLE_NAMES)[number]>] extends [never] ? true : never = true;
void everyTableListed;

export type Article = Selectable<ArticlesTable>;
export type Comment = Selectable<CommentsTable>;

// One per connection: $extendTables makes a new Kysely each call, and prepared queries
// (packages/bastion/src/db/prepared.ts) are compiled once per Kysely instance.
const widened = new WeakMap<Kysely<Database>, Kysely<ConduitDatabase>>();

/** The query builder over the stack's tables and Conduit's: the same connection, typed wider. */
export function conduitDb(db: Db): Kysely<ConduitDatabase> {
  let kysely = widened.get(db.kysely);
  if (!kysely) widened.set(db.kysely, (kysely = db.kysely.$extendTables<ConduitTables>()));
  return kysely;
}

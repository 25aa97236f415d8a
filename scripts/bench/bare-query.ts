import SQLite from 'better-sqlite3';
import pg from 'pg';

// The bare query baseline: the article list exactly as GET /api/articles?limit=N returns it,
// from one hand-written prepared statement (the page, each article's sorted tags and the total
// in one round trip) mapped straight to JSON. No query builder, no layers: the ceiling the app
// is measured against. The SQL is constant text; values are bound parameters. It reads the
// schema as the app does: the total from the counter row (migration 005-article-total), each
// article's sorted tags from its row (006-article-tag-list). Its SQLite LIMIT is written `+?`, as
// the app's dialect compiles it (packages/bastion/src/db/sqlite-dialect.ts): a bare bound LIMIT makes SQLite
// compile the statement again on every run.

const SQLITE_LIST = `
SELECT a.slug, a.title, a.description, a.created_at, a.updated_at, a.favorites_count,
       u.username, u.bio, u.image,
       a.tag_list AS tags,
       (SELECT articles FROM article_total WHERE id = 1) AS total
  FROM articles a JOIN users u ON u.id = a.author_id
 ORDER BY a.created_at DESC, a.id DESC
 LIMIT +? OFFSET ?`;

const POSTGRES_LIST = `
SELECT a.slug, a.title, a.description, a.created_at, a.updated_at, a.favorites_count,
       u.username, u.bio, u.image,
       a.tag_list AS tags,
       (SELECT articles FROM article_total WHERE id = 1) AS total
  FROM articles a JOIN users u ON u.id = a.author_id
 ORDER BY a.created_at DESC, a.id DESC
 LIMIT $1 OFFSET $2`;

interface Row {
  slug: string;
  title: string;
  description: string;
  created_at: string;
  updated_at: string;
  favorites_count: number;
  username: string;
  bio: string;
  image: string | null;
  tags: string | string[];
  total: number | string;
}

export interface ArticleListJson {
  articles: object[];
  articlesCount: number;
}

function toJson(rows: readonly Row[]): ArticleListJson {
  return {
    articles: rows.map((r) => ({
      slug: r.slug,
      title: r.title,
      description: r.description,
      tagList: typeof r.tags === 'string' ? (JSON.parse(r.tags) as string[]) : r.tags,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      favorited: false,
      favoritesCount: Number(r.favorites_count),
      author: { username: r.username, bio: r.bio, image: r.image, following: false },
    })),
    articlesCount: rows.length > 0 ? Number(rows[0]!.total) : 0,
  };
}

export interface BareList {
  list(limit: number, offset: number): Promise<ArticleListJson>;
  close(): Promise<void>;
}

export function sqliteList(file: string): BareList {
  const db = new SQLite(file);
  const statement = db.prepare<[number, number], Row>(SQLITE_LIST);
  return {
    async list(limit, offset) {
      return toJson(statement.all(limit, offset));
    },
    async close() {
      db.close();
    },
  };
}

export function postgresList(url: string, schema: string, poolMax: number): BareList {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('invalid schema name');
  const pool = new pg.Pool({ connectionString: url, max: poolMax, options: `-c search_path=${schema}` });
  return {
    async list(limit, offset) {
      // A named query is prepared once per connection and then only executed.
      const result = await pool.query<Row>({ name: 'bench-article-list', text: POSTGRES_LIST, values: [limit, offset] });
      return toJson(result.rows);
    },
    async close() {
      await pool.end();
    },
  };
}

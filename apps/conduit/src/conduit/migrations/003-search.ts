import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from 'bastion';

// Indexes for article search (apps/conduit/src/conduit/search.ts), which matches every word as a substring of
// lower(title), lower(description) or lower(body). Without an index each search reads every
// article twice (page and count): ~50–120 ms on SQLite and ~300–500 ms on PostgreSQL at 10,000
// articles. Both indexes are trigram indexes, so they serve substring matching as it is (no
// stemming, % and _ stay literal) and the query keeps its exact meaning.
//
// PostgreSQL: pg_trgm GIN indexes on the three lower(...) expressions the query already uses; the
// planner combines them per word. pg_trgm is one extension per database, so it is looked for
// wherever it is installed, else created in `public` (a schema every connection can name; test
// schemas come and go). Where the role may not create it, the indexes are skipped: search stays
// correct, only slower.
//
// SQLite: an FTS5 table with the trigram tokenizer over the same three columns, kept in step by
// triggers; search looks words of three or more characters up there.

const PG_TRGM_SCHEMA = 'public';
const PG_INDEXES = [
  ['articles_title_trgm', 'title'],
  ['articles_description_trgm', 'description'],
  ['articles_body_trgm', 'body'],
] as const;

async function trigramSchema(db: Kysely<unknown>): Promise<string | null> {
  const found = await sql<{
    schema: string;
  }>`select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db);
  return found.rows[0]?.schema ?? null;
}

/** The schema pg_trgm lives in, creating it if this role may; null if it is not to be had. */
async function ensureTrigrams(db: Kysely<unknown>): Promise<string | null> {
  const existing = await trigramSchema(db);
  if (existing !== null) return existing;
  // Migrations run in one transaction on PostgreSQL: a refused CREATE EXTENSION must not abort it.
  await sql`savepoint bastion_pg_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm with schema ${sql.id(PG_TRGM_SCHEMA)}`.execute(db);
    await sql`release savepoint bastion_pg_trgm`.execute(db);
  } catch {
    // Not permitted, not available, or created at this moment by a parallel migration.
    await sql`rollback to savepoint bastion_pg_trgm`.execute(db);
  }
  return trigramSchema(db);
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  const schema = await ensureTrigrams(db);
  if (schema === null) return;
  // GIN's default fast update is kept: with it off, inserting 10,000 articles took six times as
  // long. Its pending list, until (auto)vacuum merges it, makes the planner prefer a scan, so
  // right after a bulk load searches are slow until the next vacuum.
  for (const [name, column] of PG_INDEXES) {
    await db.schema
      .createIndex(name)
      .ifNotExists()
      .on('articles')
      .using('gin')
      .expression(sql`lower(${sql.ref(column)}) ${sql.id(schema, 'gin_trgm_ops')}`)
      .execute();
  }
}

async function upSqlite(db: Kysely<unknown>): Promise<void> {
  await sql`create virtual table articles_search using fts5(title, description, body, content='articles', content_rowid='id', tokenize='trigram')`.execute(
    db,
  );
  // The external-content pattern from the FTS5 manual: 'delete' must be given the old values.
  await sql`create trigger articles_search_insert after insert on articles begin
    insert into articles_search(rowid, title, description, body) values (new.id, new.title, new.description, new.body);
  end`.execute(db);
  await sql`create trigger articles_search_delete after delete on articles begin
    insert into articles_search(articles_search, rowid, title, description, body) values ('delete', old.id, old.title, old.description, old.body);
  end`.execute(db);
  await sql`create trigger articles_search_update after update of title, description, body on articles begin
    insert into articles_search(articles_search, rowid, title, description, body) values ('delete', old.id, old.title, old.description, old.body);
    insert into articles_search(rowid, title, description, body) values (new.id, new.title, new.description, new.body);
  end`.execute(db);
  await sql`insert into articles_search(articles_search) values ('rebuild')`.execute(db);
}

export function search(dialect: DialectName): Migration {
  return {
    async up(db) {
      if (dialect === 'postgres') await upPostgres(db);
      else await upSqlite(db);
    },
    async down(db) {
      if (dialect === 'postgres') {
        // pg_trgm stays: other schemas of the same database may use it.
        for (const [name] of PG_INDEXES) await db.schema.dropIndex(name).ifExists().execute();
        return;
      }
      for (const trigger of ['articles_search_insert', 'articles_search_delete', 'articles_search_update']) {
        await sql`drop trigger if exists ${sql.id(trigger)}`.execute(db);
      }
      await sql`drop table if exists articles_search`.execute(db);
    },
  };
}

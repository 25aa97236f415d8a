import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from 'bastion';

// Indexes and one maintained count for the hot reads (docs/performance.md has the plans).
//
// 1. The article list (home page, GET /api/articles, newest first). On SQLite an article's row
//    holds its Markdown and rendered HTML before the columns the list reads, so reading a row's
//    dates and counts walked its overflow pages: twenty rows cost more than the rest of the
//    request. A covering index in list order answers the page without the table. PostgreSQL
//    keeps large values out of line (TOAST) and its rows stay small: the (created_at, id)
//    index stays as it is there (and a covering index could exceed its index row size limit
//    with a long multibyte description).
//
// 2. Popular tags (GET /api/tags, the home page's sidebar) counted every article_tags row per
//    request (~3–5 ms at 10,000 articles). tags.articles_count is kept by triggers on
//    article_tags, so every path that links or unlinks a tag (the services, the seed, cascades
//    when an article or its author is deleted) keeps it exact, in the same transaction.

export function performanceIndexes(dialect: DialectName): Migration {
  return {
    async up(db) {
      if (dialect === 'sqlite') {
        await db.schema
          .createIndex('articles_list')
          .on('articles')
          .columns(['created_at', 'id', 'author_id', 'favorites_count', 'updated_at', 'slug', 'title', 'description'])
          .execute();
        await db.schema.dropIndex('articles_created_at').execute();
      }

      await db.schema
        .alterTable('tags')
        .addColumn('articles_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db
        .updateTable('tags')
        .set((eb) => ({
          articles_count: eb.selectFrom('article_tags').select(eb.fn.countAll().as('n')).whereRef('article_tags.tag_id', '=', 'tags.id'),
        }))
        .execute();
      await db.schema.createIndex('tags_popular').on('tags').columns(['articles_count desc', 'name']).execute();
      await (dialect === 'postgres' ? countTriggersPostgres(db) : countTriggersSqlite(db));
    },
    async down(db) {
      if (dialect === 'postgres') {
        await sql`drop trigger if exists article_tags_count on article_tags`.execute(db);
        await sql`drop function if exists article_tags_count()`.execute(db);
      } else {
        for (const name of ['article_tags_count_insert', 'article_tags_count_delete', 'article_tags_count_update']) {
          await sql`drop trigger if exists ${sql.id(name)}`.execute(db);
        }
        await db.schema.createIndex('articles_created_at').on('articles').columns(['created_at', 'id']).execute();
        await db.schema.dropIndex('articles_list').execute();
      }
      await db.schema.dropIndex('tags_popular').execute();
      await db.schema.alterTable('tags').dropColumn('articles_count').execute();
    },
  };
}

async function countTriggersSqlite(db: Kysely<unknown>): Promise<void> {
  await sql`create trigger article_tags_count_insert after insert on article_tags begin
    update tags set articles_count = articles_count + 1 where id = new.tag_id;
  end`.execute(db);
  await sql`create trigger article_tags_count_delete after delete on article_tags begin
    update tags set articles_count = articles_count - 1 where id = old.tag_id;
  end`.execute(db);
  await sql`create trigger article_tags_count_update after update of tag_id on article_tags begin
    update tags set articles_count = articles_count - 1 where id = old.tag_id;
    update tags set articles_count = articles_count + 1 where id = new.tag_id;
  end`.execute(db);
}

async function countTriggersPostgres(db: Kysely<unknown>): Promise<void> {
  // Unqualified names resolve through the connection's search_path, like every other query.
  await sql`create function article_tags_count() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'UPDATE') then
        update tags set articles_count = articles_count - 1 where id = old.tag_id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        update tags set articles_count = articles_count + 1 where id = new.tag_id;
      end if;
      return null;
    end
  $$`.execute(db);
  await sql`create trigger article_tags_count after insert or delete or update of tag_id on article_tags
    for each row execute function article_tags_count()`.execute(db);
}

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from 'bastion';

// Each article's sorted tag names, kept on its row instead of gathered per read. The list, the
// home page and an article's page built them with a subquery per article: on SQLite 21 of the
// page statement's 74 µs, on PostgreSQL 0.15–0.25 ms of a 0.06–0.09 ms page once it is a column.
// A JSON array (text) on SQLite, a text[] on PostgreSQL: the shapes the reads already had.
// Kept by triggers on article_tags, like tags.articles_count (002): every path that links or
// unlinks a tag (the services, the seed, a cascade when an article or its author goes) keeps it
// exact in the same transaction. Lock order on PostgreSQL stays the article row first: the
// services write the article before its tags, and a cascade deletes the article itself first.

export function articleTagList(dialect: DialectName): Migration {
  return {
    async up(db) {
      if (dialect === 'postgres') {
        await sql`alter table articles add column tag_list text[] not null default '{}'`.execute(db);
        await sql`update articles set tag_list = ${namesPostgres(sql.ref('articles.id'))}`.execute(db);
        await triggerPostgres(db);
      } else {
        await sql`alter table articles add column tag_list text not null default '[]'`.execute(db);
        await sql`update articles set tag_list = ${namesSqlite(sql.ref('articles.id'))}`.execute(db);
        await triggersSqlite(db);
        // The list's covering index (002) gains the column, so a page is still read from it alone.
        await rebuildListIndex(db, [...LIST_INDEX_002, 'tag_list']);
      }
    },
    async down(db) {
      if (dialect === 'postgres') {
        await sql`drop trigger if exists article_tags_list on article_tags`.execute(db);
        await sql`drop function if exists article_tags_list()`.execute(db);
      } else {
        for (const name of ['article_tags_list_insert', 'article_tags_list_delete', 'article_tags_list_update']) {
          await sql`drop trigger if exists ${sql.id(name)}`.execute(db);
        }
        await rebuildListIndex(db, LIST_INDEX_002);
      }
      await db.schema.alterTable('articles').dropColumn('tag_list').execute();
    },
  };
}

// SQLite's covering list index as migration 002 made it (a copy: a released migration's schema
// never changes, so neither may this list).
const LIST_INDEX_002 = ['created_at', 'id', 'author_id', 'favorites_count', 'updated_at', 'slug', 'title', 'description'];

async function rebuildListIndex(db: Kysely<unknown>, columns: string[]): Promise<void> {
  await db.schema.dropIndex('articles_list').execute();
  await db.schema.createIndex('articles_list').on('articles').columns(columns).execute();
}

type Ref = ReturnType<typeof sql.ref>;

const namesSqlite = (articleId: Ref) =>
  sql`(select json_group_array(t.name order by t.name) from article_tags at join tags t on t.id = at.tag_id where at.article_id = ${articleId})`;

const namesPostgres = (articleId: Ref) =>
  sql`array(select t.name from article_tags at join tags t on t.id = at.tag_id where at.article_id = ${articleId} order by t.name)`;

async function triggersSqlite(db: Kysely<unknown>): Promise<void> {
  await sql`create trigger article_tags_list_insert after insert on article_tags begin
    update articles set tag_list = ${namesSqlite(sql.ref('new.article_id'))} where id = new.article_id;
  end`.execute(db);
  await sql`create trigger article_tags_list_delete after delete on article_tags begin
    update articles set tag_list = ${namesSqlite(sql.ref('old.article_id'))} where id = old.article_id;
  end`.execute(db);
  await sql`create trigger article_tags_list_update after update of article_id, tag_id on article_tags begin
    update articles set tag_list = ${namesSqlite(sql.ref('old.article_id'))} where id = old.article_id;
    update articles set tag_list = ${namesSqlite(sql.ref('new.article_id'))} where id = new.article_id;
  end`.execute(db);
}

async function triggerPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`create function article_tags_list() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'UPDATE') then
        update articles set tag_list = ${namesPostgres(sql.ref('old.article_id'))} where id = old.article_id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        update articles set tag_list = ${namesPostgres(sql.ref('new.article_id'))} where id = new.article_id;
      end if;
      return null;
    end
  $$`.execute(db);
  await sql`create trigger article_tags_list after insert or delete or update of article_id, tag_id on article_tags
    for each row execute function article_tags_list()`.execute(db);
}

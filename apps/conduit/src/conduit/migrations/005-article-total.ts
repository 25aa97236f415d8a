import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from 'bastion';

// The total of the unfiltered article list (articlesCount of GET /api/articles, the home page's
// paging), read from one counter row instead of counted per request: count(*) over 10,000
// articles cost PostgreSQL 1.2 ms per list request, three times the page itself.
// Kept by triggers on articles, so every path that adds or removes an article (the services,
// the seed, a moderator, a cascade when an account is deleted) keeps it exact in the same
// transaction. On PostgreSQL the decrement runs BEFORE the row goes, so a deletion locks the
// counter before its cascade locks tag rows, the same order as a new article (the article
// first, its tags after): two concurrent writes cannot take the two locks in opposite orders.

export function articleTotal(dialect: DialectName): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('article_total')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('articles', 'integer', (c) => c.notNull())
        .execute();
      await sql`insert into article_total (id, articles) select 1, count(*) from articles`.execute(db);
      await (dialect === 'postgres' ? triggersPostgres(db) : triggersSqlite(db));
    },
    async down(db) {
      if (dialect === 'postgres') {
        await sql`drop trigger if exists article_total_insert on articles`.execute(db);
        await sql`drop trigger if exists article_total_delete on articles`.execute(db);
        await sql`drop function if exists article_total()`.execute(db);
      } else {
        await sql`drop trigger if exists article_total_insert`.execute(db);
        await sql`drop trigger if exists article_total_delete`.execute(db);
      }
      await db.schema.dropTable('article_total').execute();
    },
  };
}

async function triggersSqlite(db: Kysely<unknown>): Promise<void> {
  await sql`create trigger article_total_insert after insert on articles begin
    update article_total set articles = articles + 1 where id = 1;
  end`.execute(db);
  await sql`create trigger article_total_delete after delete on articles begin
    update article_total set articles = articles - 1 where id = 1;
  end`.execute(db);
}

async function triggersPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`create function article_total() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update article_total set articles = articles + 1 where id = 1;
        return null;
      end if;
      update article_total set articles = articles - 1 where id = 1;
      return old;
    end
  $$`.execute(db);
  await sql`create trigger article_total_insert after insert on articles for each row execute function article_total()`.execute(db);
  await sql`create trigger article_total_delete before delete on articles for each row execute function article_total()`.execute(db);
}

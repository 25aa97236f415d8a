import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { BACKENDS, migratorFor } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Each article's sorted tag names are kept on its row by triggers on article_tags (migration
// 006-article-tag-list), and the list, the home page and the article page read them from there.
// Whatever path links or unlinks a tag — the API, a write straight to the database, a cascade
// when an article or its author is deleted — the column stays what gathering the links gives,
// and a database that already holds articles gets it filled in when the migration runs.

type Db = ReturnType<typeof conduitDb>;

const asList = (value: string | string[]): string[] => (typeof value === 'string' ? (JSON.parse(value) as string[]) : value);

/** Every article whose kept list differs from its links, as "slug: kept ≠ linked". */
async function drift(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('articles').select(['id', 'slug', 'tag_list']).execute();
  const links = await db
    .selectFrom('article_tags')
    .innerJoin('tags', 'tags.id', 'article_tags.tag_id')
    .select(['article_tags.article_id', 'tags.name'])
    .execute();
  const out: string[] = [];
  for (const row of rows) {
    const linked = links
      .filter((l) => l.article_id === row.id)
      .map((l) => l.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const kept = asList(row.tag_list);
    if (JSON.stringify(kept) !== JSON.stringify(linked)) out.push(`${row.slug}: ${JSON.stringify(kept)} ≠ ${JSON.stringify(linked)}`);
  }
  return out;
}

async function tagId(db: Db, name: string): Promise<number> {
  const found = await db.selectFrom('tags').select('id').where('name', '=', name).executeTakeFirst();
  if (found) return found.id;
  return (await db.insertInto('tags').values({ name }).returning('id').executeTakeFirstOrThrow()).id;
}

for (const backend of BACKENDS) {
  test(`[${backend}] each article's kept tag list follows every link and unlink, cascades included, and the API returns it sorted`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const a = await postArticle(app, jake, { title: 'A', tagList: ['zeta', 'alpha', 'mid'] });
    const b = await postArticle(app, jake, { title: 'B' });
    const c = await postArticle(app, eve, { title: 'C', tagList: ['alpha', 'eve'] });
    assert.deepEqual(await drift(db), [], 'after creation');
    assert.deepEqual((await api(app, 'GET', `/api/articles/${a}`)).json().article.tagList, ['alpha', 'mid', 'zeta']);
    assert.deepEqual((await api(app, 'GET', `/api/articles/${b}`)).json().article.tagList, []);

    assert.equal(
      (await api(app, 'PUT', `/api/articles/${a}`, { user: jake, body: { article: { tagList: ['beta', 'alpha'] } } })).statusCode,
      200,
    );
    assert.deepEqual(await drift(db), [], 'after the tags were replaced');
    assert.equal((await api(app, 'PUT', `/api/articles/${c}`, { user: eve, body: { article: { tagList: [] } } })).statusCode, 200);
    assert.deepEqual(await drift(db), [], 'after the tags were removed');
    const listed = (await api(app, 'GET', '/api/articles')).json().articles as Array<{ slug: string; tagList: string[] }>;
    assert.deepEqual(listed.find((x) => x.slug === a)?.tagList, ['alpha', 'beta'], 'the list reads the kept column');

    // Straight to the database: a link added, one moved to another article, one removed.
    const [idA, idB] = await Promise.all(
      [a, b].map(async (slug) => (await db.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirstOrThrow()).id),
    );
    await db
      .insertInto('article_tags')
      .values({ article_id: idB!, tag_id: await tagId(db, 'raw') })
      .execute();
    await db
      .updateTable('article_tags')
      .set({ article_id: idB! })
      .where('article_id', '=', idA!)
      .where('tag_id', '=', await tagId(db, 'beta'))
      .execute();
    await db
      .deleteFrom('article_tags')
      .where('article_id', '=', idA!)
      .where('tag_id', '=', await tagId(db, 'alpha'))
      .execute();
    assert.deepEqual(await drift(db), [], 'after writes straight to the database');
    assert.deepEqual((await api(app, 'GET', `/api/articles/${b}`)).json().article.tagList, ['beta', 'raw']);

    assert.equal((await api(app, 'DELETE', `/api/articles/${b}`, { user: jake })).statusCode, 204);
    await db.deleteFrom('users').where('id', '=', eve.id).execute();
    assert.deepEqual(await drift(db), [], 'after an article and an account with its articles were deleted');
  });

  test(`[${backend}] migration 006 fills in the kept tag lists of articles that already exist, and its down keeps every article`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    for (let i = 0; i < 5; i++)
      await postArticle(app, jake, { title: `Article ${i}`, tagList: i % 2 ? [`t${i}`, 'shared', 'a-first'] : [] });
    const migrator = await migratorFor(runtime.db, conduitMigrations);

    const down = await migrator.migrateTo('app:005-article-total');
    assert.equal(down.error, undefined, String(down.error));
    assert.equal(
      Number(
        (
          await db
            .selectFrom('articles')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
      5,
    );
    // Links made while the column does not exist (an older release still running).
    const first = await db.selectFrom('articles').select('id').orderBy('id').executeTakeFirstOrThrow();
    await db
      .insertInto('article_tags')
      .values({ article_id: first.id, tag_id: await tagId(db, 'while-down') })
      .execute();

    // Up to 006 only: later migrations are not this test's business.
    const up = await migrator.migrateTo('app:006-article-tag-list');
    assert.equal(up.error, undefined, String(up.error));
    assert.deepEqual(
      up.results?.map((r) => r.migrationName),
      ['app:006-article-tag-list'],
    );
    assert.deepEqual(await drift(db), [], 'every article filled in');
    const kept = await db.selectFrom('articles').select('tag_list').where('id', '=', first.id).executeTakeFirstOrThrow();
    assert.deepEqual(asList(kept.tag_list), ['while-down']);
    // The page still comes from the index alone on SQLite (the column is in the covering index).
    if (backend === 'sqlite') {
      const plan = await sql<{
        detail: string;
      }>`explain query plan select slug, tag_list from articles order by created_at desc, id desc limit 20`.execute(db);
      assert.ok(
        plan.rows.some((r) => /COVERING INDEX articles_list/.test(r.detail)),
        JSON.stringify(plan.rows),
      );
    }
  });
}

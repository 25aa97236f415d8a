import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// articlesCount of the unfiltered list comes from a counter row kept by triggers on articles
// (migration 005-article-total), and a tag's list from tags.articles_count, instead of a count
// per request. Whatever path adds or removes an article — the API, a moderator, a cascade when
// an account is deleted, a write straight to the database — the totals stay what counting the
// rows gives, also for a page past the end, where the total is read without a page.

for (const backend of BACKENDS) {
  test(`[${backend}] the list's total follows every write, cascades included, and equals counting the rows`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const counted = async (tag?: string): Promise<number> => {
      let q = db.selectFrom('articles').select((eb) => eb.fn.countAll<number>().as('n'));
      if (tag)
        q = q.where('articles.id', 'in', (eb) =>
          eb
            .selectFrom('article_tags')
            .innerJoin('tags', 'tags.id', 'article_tags.tag_id')
            .select('article_tags.article_id')
            .where('tags.name', '=', tag),
        );
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    const listed = async (query: string): Promise<number> => {
      const res = await api(app, 'GET', `/api/articles${query}`);
      assert.equal(res.statusCode, 200);
      return res.json().articlesCount as number;
    };
    const agree = async (what: string): Promise<void> => {
      const all = await counted();
      assert.equal(await listed(''), all, `${what}: the list's total`);
      assert.equal(await listed('?offset=1000'), all, `${what}: the total of a page past the end`);
      assert.equal(await listed('?tag=shared'), await counted('shared'), `${what}: a tag's total`);
      assert.equal(await listed('?tag=shared&offset=1000'), await counted('shared'), `${what}: a tag's total past the end`);
    };

    await agree('empty');
    assert.equal(await listed('?tag=nobody-uses-this'), 0);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const mod = await makeUser(app, runtime, 'mod', 'moderator');
    const a = await postArticle(app, jake, { title: 'A', tagList: ['shared'] });
    await postArticle(app, jake, { title: 'B' });
    const c = await postArticle(app, eve, { title: 'C', tagList: ['shared', 'eve'] });
    await postArticle(app, eve, { title: 'D', tagList: ['shared'] });
    await agree('after four articles');
    assert.equal(await listed(''), 4);

    assert.equal((await api(app, 'DELETE', `/api/articles/${a}`, { user: jake })).statusCode, 204);
    await agree('after the author deleted one');
    assert.equal((await api(app, 'DELETE', `/api/articles/${c}`, { user: mod })).statusCode, 204);
    await agree('after a moderator deleted one');
    await db.deleteFrom('users').where('id', '=', eve.id).execute();
    await agree('after an account and its articles were deleted');
    assert.equal(await listed(''), 1);

    // An insert the database refuses (a slug that is taken) changes no total.
    const taken = (await db.selectFrom('articles').select('slug').executeTakeFirstOrThrow()).slug;
    await assert.rejects(
      db
        .insertInto('articles')
        .values({
          slug: taken,
          title: 'dup',
          description: '',
          body: '',
          body_html: '',
          author_id: jake.id,
          created_at: 'x',
          updated_at: 'x',
        })
        .execute(),
    );
    await agree('after a refused insert');
    const row = await db.selectFrom('article_total').select('articles').executeTakeFirstOrThrow();
    assert.equal(Number(row.articles), 1);
  });
}

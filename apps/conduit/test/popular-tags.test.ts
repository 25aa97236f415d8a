import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// GET /api/tags and the home page's sidebar read a per-tag article count that the database
// keeps (triggers on article_tags, migration 002-performance) instead of counting every link per
// request. Whatever path changes an article's tags — a new article, an edit, a deletion by its
// author or a moderator, a cascade when an account is deleted — the list stays exact: no tag
// nobody uses any more lingers, the order is by use, and a count never goes negative.

const tags = async (app: Parameters<typeof api>[0]): Promise<string[]> => (await api(app, 'GET', '/api/tags')).json().tags;

for (const backend of BACKENDS) {
  test(`[${backend}] popular tags follow every write, cascades included, with no stale or negative count`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const mod = await makeUser(app, runtime, 'mod', 'moderator');

    const a = await postArticle(app, jake, { title: 'A', tagList: ['common', 'rare', 'jake-only'] });
    const b = await postArticle(app, eve, { title: 'B', tagList: ['common', 'eve-only'] });
    await postArticle(app, eve, { title: 'C', tagList: ['common', 'rare'] });
    assert.deepEqual((await tags(app)).slice(0, 2), ['common', 'rare'], 'most used first');
    assert.deepEqual(new Set(await tags(app)), new Set(['common', 'rare', 'jake-only', 'eve-only']));

    // An edit replaces the tag set: the dropped tag is gone, a new one appears.
    const edited = await api(app, 'PUT', `/api/articles/${a}`, { user: jake, body: { article: { tagList: ['common', 'fresh'] } } });
    assert.equal(edited.statusCode, 200);
    assert.ok(!(await tags(app)).includes('jake-only'), 'a tag no article carries is not listed');
    assert.ok((await tags(app)).includes('fresh'));

    // A moderator's deletion of someone else's article takes its tags' uses with it.
    assert.equal((await api(app, 'DELETE', `/api/articles/${b}`, { user: mod })).statusCode, 204);
    assert.ok(!(await tags(app)).includes('eve-only'));

    // Deleting an account cascades to its articles and their tag links in the database itself.
    await db.deleteFrom('users').where('id', '=', eve.id).execute();
    assert.deepEqual(new Set(await tags(app)), new Set(['common', 'fresh']), 'only jake’s remaining article counts');

    const counts = await db.selectFrom('tags').select(['name', 'articles_count']).execute();
    const links = await db.selectFrom('article_tags').innerJoin('tags', 'tags.id', 'article_tags.tag_id').select('tags.name').execute();
    for (const { name, articles_count } of counts) {
      assert.equal(Number(articles_count), links.filter((l) => l.name === name).length, `count of ${name} matches its links`);
    }

    // The home page's sidebar reads the same counts.
    const home = await app.inject({ url: '/' });
    assert.match(home.body, /href="\/\?tag=common"/);
    assert.doesNotMatch(home.body, /href="\/\?tag=eve-only"/);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { conduitDb } from '../src/conduit/tables.js';

const article = (fields: Record<string, unknown>) => ({ body: { article: { title: 'T', description: 'D', body: 'B', ...fields } } });

for (const backend of BACKENDS) {
  test(`[${backend}] an article is created, read, updated and deleted by its author`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const created = await api(app, 'POST', '/api/articles', {
      user: jake,
      ...article({
        title: 'How to Train Your Dragon!',
        body: '# Hi\n\n<script>alert(1)</script>',
        tagList: ['training', 'dragons', 'dragons'],
      }),
    });
    assert.equal(created.statusCode, 201);
    const a = created.json().article;
    assert.equal(a.slug, 'how-to-train-your-dragon');
    assert.deepEqual(a.tagList, ['dragons', 'training']);
    assert.deepEqual(a.author, { username: 'jake', bio: '', image: null, following: false });
    assert.equal(a.favoritesCount, 0);
    const stored = await conduitDb(runtime.db).selectFrom('articles').select('body_html').executeTakeFirstOrThrow();
    assert.match(stored.body_html, /<h1>Hi<\/h1>/);
    assert.doesNotMatch(stored.body_html, /<script/);

    const read = await api(app, 'GET', `/api/articles/${a.slug}`);
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().article.body, '# Hi\n\n<script>alert(1)</script>');

    const updated = await api(app, 'PUT', `/api/articles/${a.slug}`, {
      user: jake,
      body: { article: { title: 'A new title', body: 'With two hands' } },
    });
    assert.equal(updated.statusCode, 200);
    assert.equal(updated.json().article.slug, a.slug, 'the slug is stable across title changes');
    assert.equal(updated.json().article.title, 'A new title');
    assert.deepEqual(updated.json().article.tagList, ['dragons', 'training']);

    const second = await postArticle(app, jake, { title: 'How to train your dragon' });
    assert.match(second, /^how-to-train-your-dragon-[0-9a-f]{8}$/, 'a taken slug gets a suffix');

    assert.equal((await api(app, 'DELETE', `/api/articles/${a.slug}`, { user: jake })).statusCode, 204);
    assert.equal((await api(app, 'GET', `/api/articles/${a.slug}`)).statusCode, 404);
  });

  test(`[${backend}] another user cannot update or delete an article (IDOR) but a moderator may delete it`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const mod = await makeUser(app, runtime, 'mod', 'moderator');
    const slug = await postArticle(app, jake, { title: 'Mine' });
    const put = await api(app, 'PUT', `/api/articles/${slug}`, { user: eve, body: { article: { body: 'pwned' } } });
    assert.equal(put.statusCode, 403);
    assert.equal((await api(app, 'DELETE', `/api/articles/${slug}`, { user: eve })).statusCode, 403);
    assert.equal(
      (await api(app, 'PUT', `/api/articles/${slug}`, { user: mod, body: { article: { body: 'edited' } } })).statusCode,
      403,
      'moderators delete, never edit',
    );
    assert.equal((await api(app, 'GET', `/api/articles/${slug}`)).json().article.body, 'b');
    const denials = await runtime.db.kysely.selectFrom('audit_log').select('actor_id').where('event', '=', 'authz.deny').execute();
    assert.equal(denials.length, 3);
    assert.equal((await api(app, 'DELETE', `/api/articles/${slug}`, { user: mod })).statusCode, 204);
    const moderated = await runtime.db.kysely.selectFrom('audit_log').select('actor_id').where('event', '=', 'content.moderate').execute();
    assert.deepEqual(moderated, [{ actor_id: mod.id }]);
  });

  test(`[${backend}] writes need a token (401) and unknown slugs answer 404`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const slug = await postArticle(app, jake, { title: 'x' });
    assert.equal((await api(app, 'POST', '/api/articles', article({}))).statusCode, 401);
    assert.equal((await api(app, 'PUT', `/api/articles/${slug}`, { body: { article: { body: 'x' } } })).statusCode, 401);
    assert.equal((await api(app, 'DELETE', `/api/articles/${slug}`)).statusCode, 401);
    assert.equal((await api(app, 'POST', `/api/articles/${slug}/favorite`)).statusCode, 401);
    assert.equal((await api(app, 'GET', '/api/articles/feed')).statusCode, 401);
    for (const [method, url] of [
      ['GET', '/api/articles/nope'],
      ['DELETE', '/api/articles/nope'],
      ['POST', '/api/articles/nope/favorite'],
      ['DELETE', '/api/articles/nope/favorite'],
    ] as const) {
      const res = await api(app, method, url, { user: jake });
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(res.json().errors, { article: ['not found'] });
    }
    assert.equal((await api(app, 'PUT', '/api/articles/nope', { user: jake, body: { article: { body: 'x' } } })).statusCode, 404);
  });

  test(`[${backend}] article bodies refuse unknown, server-owned and over-long fields with 422`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const slug = await postArticle(app, jake, { title: 'x' });
    const bad: Array<Record<string, unknown>> = [
      { author: { username: 'eve' } },
      { id: 7 },
      { favoritesCount: 1000 },
      { slug: 'chosen' },
      { createdAt: '2000-01-01T00:00:00.000Z' },
      { role: 'admin' },
      { title: 't'.repeat(256) },
      { description: 'd'.repeat(1025) },
      { body: 'b'.repeat(100_001) },
      { title: '' },
      { tagList: ['t'.repeat(65)] },
      { tagList: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { tagList: [1] },
      { tagList: 'dragons' },
      { title: ['a'] },
    ];
    for (const fields of bad) {
      const res = await api(app, 'POST', '/api/articles', { user: jake, ...article(fields) });
      assert.equal(res.statusCode, 422, `create ${JSON.stringify(fields).slice(0, 60)}`);
      assert.ok(res.json().errors);
      const upd = await api(app, 'PUT', `/api/articles/${slug}`, { user: jake, body: { article: fields } });
      assert.equal(upd.statusCode, 422, `update ${JSON.stringify(fields).slice(0, 60)}`);
    }
    assert.equal((await api(app, 'POST', '/api/articles', { user: jake, body: { article: { title: 'only a title' } } })).statusCode, 422);
    const count = await conduitDb(runtime.db)
      .selectFrom('articles')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1);
  });

  test(`[${backend}] favorites are idempotent and favoritesCount stays in step`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const slug = await postArticle(app, jake, { title: 'fav' });
    for (let i = 0; i < 2; i++) {
      const res = await api(app, 'POST', `/api/articles/${slug}/favorite`, { user: eve });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().article.favorited, true);
      assert.equal(res.json().article.favoritesCount, 1);
    }
    await api(app, 'POST', `/api/articles/${slug}/favorite`, { user: jake });
    assert.equal((await api(app, 'GET', `/api/articles/${slug}`)).json().article.favoritesCount, 2);
    assert.equal((await api(app, 'GET', `/api/articles/${slug}`, { user: eve })).json().article.favorited, true);
    assert.equal((await api(app, 'GET', `/api/articles/${slug}`)).json().article.favorited, false);
    const byEve = await api(app, 'GET', '/api/articles?favorited=eve');
    assert.deepEqual(
      byEve.json().articles.map((a: { slug: string }) => a.slug),
      [slug],
    );
    for (let i = 0; i < 2; i++) {
      const res = await api(app, 'DELETE', `/api/articles/${slug}/favorite`, { user: eve });
      assert.equal(res.json().article.favorited, false);
      assert.equal(res.json().article.favoritesCount, 1);
    }
  });

  test(`[${backend}] lists filter by tag, author and favorited, paginate, and count the total`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const slugs: string[] = [];
    for (let i = 0; i < 5; i++)
      slugs.push(await postArticle(app, i % 2 === 0 ? jake : eve, { title: `Article ${i}`, tagList: i < 3 ? ['low'] : ['high'] }));
    const all = await api(app, 'GET', '/api/articles');
    assert.equal(all.json().articlesCount, 5);
    assert.deepEqual(
      all.json().articles.map((a: { slug: string }) => a.slug),
      [...slugs].reverse(),
      'newest first',
    );
    assert.equal('body' in all.json().articles[0], false);
    const page = await api(app, 'GET', '/api/articles?limit=2&offset=2');
    assert.deepEqual(
      page.json().articles.map((a: { slug: string }) => a.slug),
      [slugs[2], slugs[1]],
    );
    assert.equal(page.json().articlesCount, 5);
    const beyond = await api(app, 'GET', '/api/articles?offset=50');
    assert.deepEqual(beyond.json(), { articles: [], articlesCount: 5 });
    assert.equal((await api(app, 'GET', '/api/articles?tag=low')).json().articlesCount, 3);
    assert.equal((await api(app, 'GET', '/api/articles?author=eve')).json().articlesCount, 2);
    assert.equal((await api(app, 'GET', '/api/articles?author=jake&tag=high')).json().articlesCount, 1);
    assert.equal((await api(app, 'GET', '/api/articles?author=nobody')).json().articlesCount, 0);
    for (const q of ['limit=0', 'limit=101', 'limit=-1', 'offset=-1', 'limit=abc', `tag=${'t'.repeat(65)}`]) {
      assert.equal((await api(app, 'GET', `/api/articles?${q}`)).statusCode, 422, q);
    }
    assert.deepEqual((await api(app, 'GET', '/api/tags')).json(), { tags: ['low', 'high'] });
  });

  test(`[${backend}] the feed shows only articles by followed authors`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const eve = await makeUser(app, runtime, 'eve');
    const reader = await makeUser(app, runtime, 'reader');
    const bySlug = await postArticle(app, jake, { title: 'by jake' });
    await postArticle(app, eve, { title: 'by eve' });
    await postArticle(app, reader, { title: 'by reader' });
    assert.deepEqual((await api(app, 'GET', '/api/articles/feed', { user: reader })).json(), { articles: [], articlesCount: 0 });
    await api(app, 'POST', '/api/profiles/jake/follow', { user: reader });
    const feed = await api(app, 'GET', '/api/articles/feed', { user: reader });
    assert.equal(feed.json().articlesCount, 1);
    assert.equal(feed.json().articles[0].slug, bySlug);
    assert.equal(feed.json().articles[0].author.following, true);
    const global = await api(app, 'GET', '/api/articles', { user: reader });
    const following = Object.fromEntries(
      global.json().articles.map((a: { author: { username: string; following: boolean } }) => [a.author.username, a.author.following]),
    );
    assert.deepEqual(following, { jake: true, eve: false, reader: false });
  });

  test(`[${backend}] SQL injection probes in every parameter change nothing and never give a 5xx`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const slug = await postArticle(app, jake, { title: 'target', tagList: ['x'] });
    const probes = [
      "' OR '1'='1",
      "x' OR 1=1 --",
      "'; DROP TABLE articles; --",
      '" OR ""="',
      '1) OR (1=1',
      "%' OR '%'='",
      "\\' OR 1=1 #",
      "x' UNION SELECT password_hash FROM users --",
    ];
    for (const p of probes) {
      const e = encodeURIComponent(p);
      for (const url of [
        `/api/articles?tag=${e}`,
        `/api/articles?author=${e}`,
        `/api/articles?favorited=${e}`,
        `/api/articles?limit=${e}`,
        `/api/articles?offset=${e}`,
        `/api/articles/${e}`,
        `/api/articles/${e}/comments`,
        `/api/profiles/${e}`,
      ]) {
        const res = await api(app, 'GET', url, { user: jake });
        assert.ok(res.statusCode < 500, `${url} → ${res.statusCode}`);
        assert.ok([200, 404, 422].includes(res.statusCode), `${url} → ${res.statusCode}`);
        if (res.statusCode === 200 && url.startsWith('/api/articles?')) assert.equal(res.json().articlesCount, 0, url);
        assert.doesNotMatch(res.body, /argon2|SELECT|sqlite|syntax/i);
      }
    }
    const still = await api(app, 'GET', `/api/articles/${slug}`);
    assert.equal(still.statusCode, 200);
    assert.equal((await api(app, 'GET', '/api/articles')).json().articlesCount, 1);
  });
}

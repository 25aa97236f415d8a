import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { writeArticle } from './helpers/conduit-fixtures.js';

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(`[${backend}] the global feed pages ten at a time, newest first, and filters by tag`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    for (let i = 1; i <= 23; i++)
      await writeArticle(runtime, author.username, { title: `Post ${i}`, tagList: i % 2 === 0 ? ['even'] : ['odd'] });
    const visitor = newBrowser(app);
    const first = await visitor.get('/');
    assert.deepEqual(
      titles(first.body).filter((x) => x.startsWith('Post')),
      Array.from({ length: 10 }, (_, i) => `Post ${23 - i}`),
    );
    assert.match(first.body, /href="\/\?page=3"/);
    const third = await visitor.get('/?page=3');
    assert.deepEqual(
      titles(third.body).filter((x) => x.startsWith('Post')),
      ['Post 3', 'Post 2', 'Post 1'],
    );
    assert.match(third.body, /aria-current="page">3</);
    assert.deepEqual(
      titles((await visitor.get('/?page=9')).body).filter((x) => x.startsWith('Post')),
      [],
      'past the end is just empty',
    );
    const even = await visitor.get('/?tag=even');
    assert.deepEqual(
      titles(even.body).filter((x) => x.startsWith('Post')),
      ['Post 22', 'Post 20', 'Post 18', 'Post 16', 'Post 14', 'Post 12', 'Post 10', 'Post 8', 'Post 6', 'Post 4'],
    );
    assert.match(even.body, /href="\/\?tag=even&amp;page=2"/);
    assert.deepEqual(
      titles((await visitor.get('/?tag=even&page=2')).body).filter((x) => x.startsWith('Post')),
      ['Post 2'],
    );
    const sidebar = first.body.slice(first.body.indexOf('<aside class="sidebar">'));
    assert.match(sidebar, /href="\/\?tag=odd"[\s\S]*href="\/\?tag=even"/, 'popular tags in the sidebar, most used first');
  });

  test(`[${backend}] following an author fills "your feed"; unfollowing empties it`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const reader = await registeredBrowser(app);
    await writeArticle(runtime, author.username, { title: 'Followed post' });
    await writeArticle(runtime, reader.username, { title: 'Own post' });
    assert.deepEqual(titles((await reader.get('/?feed=following')).body), []);
    const follow = await reader.post(`/profile/${author.username}/follow`);
    assert.equal(follow.statusCode, 303);
    assert.equal(follow.headers.location, `/profile/${author.username}`);
    assert.match((await reader.get(`/profile/${author.username}`)).body, /Unfollow/);
    assert.deepEqual(titles((await reader.get('/?feed=following')).body), ['Followed post']);
    await reader.post(`/profile/${author.username}/unfollow`);
    assert.deepEqual(titles((await reader.get('/?feed=following')).body), []);
    assert.equal((await reader.post('/profile/nobody_here/follow')).statusCode, 404);
    assert.doesNotMatch((await reader.get(`/profile/${reader.username}`)).body, /action="[^"]*\/follow"/, 'no follow button for oneself');
  });

  test(`[${backend}] a profile lists the member's articles and, on its tab, their favorites`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const fan = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username, { title: 'Written by author' });
    await writeArticle(runtime, fan.username, { title: 'Written by fan' });
    await fan.post(`/article/${slug}/favorite`);
    const visitor = newBrowser(app);
    assert.deepEqual(titles((await visitor.get(`/profile/${fan.username}`)).body), ['Written by fan']);
    assert.deepEqual(titles((await visitor.get(`/profile/${fan.username}?tab=favorites`)).body), ['Written by author']);
    assert.equal((await visitor.get('/profile/nobody_here')).statusCode, 404);
  });

  test(`[${backend}] SQL injection probes in tag, page, slug and username change nothing and never give 5xx`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    await writeArticle(runtime, author.username, { title: 'Only post', tagList: ['real'] });
    const visitor = newBrowser(app);
    const probes = [
      "' OR '1'='1",
      '1; DROP TABLE articles; --',
      "real' --",
      '%',
      '_',
      "\\' OR 1=1 #",
      '1 UNION SELECT password_hash FROM users',
    ];
    for (const p of probes) {
      const q = encodeURIComponent(p);
      const tag = await visitor.get(`/?tag=${q}`);
      assert.equal(tag.statusCode, 200, p);
      assert.deepEqual(titles(tag.body), [], `tag ${p} matches nothing`);
      const page = await visitor.get(`/?page=${q}`);
      assert.ok(page.statusCode >= 400 && page.statusCode < 500, `page ${p}: ${page.statusCode}`);
      for (const url of [`/article/${q}`, `/profile/${q}`, `/editor/${q}`]) {
        const res = await visitor.get(url);
        assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
        assert.doesNotMatch(res.body, /password_hash|SQLITE|syntax error/i);
      }
    }
    assert.equal((await visitor.get(`/article/${'x'.repeat(5000)}`)).statusCode < 500, true);
    assert.deepEqual(titles((await visitor.get('/')).body), ['Only post'], 'the data is intact');
  });
}

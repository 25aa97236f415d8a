import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';
import { conduitDb } from '../src/conduit/tables.js';

const XSS = '<script>alert(1)</script>';
const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

for (const backend of BACKENDS) {
  test(`[${backend}] a <script> title, description, tag and body render only escaped on every page`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const res = await author.post(
      '/editor',
      { title: XSS, description: `${XSS} desc`, body: `# Heading\n\n${XSS}\n\n[x](javascript:alert(1))`, tagList: '<b>tag</b>, xss' },
      { from: '/editor' },
    );
    assert.equal(res.statusCode, 303);
    const articleUrl = String(res.headers.location);
    assert.match(articleUrl, /^\/article\/[a-z0-9-]+$/);
    const visitor = newBrowser(app);
    for (const url of ['/', articleUrl, `/profile/${author.username}`, `/search?q=${encodeURIComponent('alert')}`, '/?tag=xss']) {
      const page = await visitor.get(url);
      assert.equal(page.statusCode, 200, url);
      assert.ok(!page.body.includes(XSS), `${url} has no raw script`);
      assert.ok(!page.body.includes('<b>tag</b>'), `${url} has no raw tag markup`);
      assert.ok(page.body.includes(ESCAPED), `${url} shows the title escaped`);
      assert.doesNotMatch(page.body, /href="javascript:/i, url);
      assert.doesNotMatch(page.body, /style=|<script/i, `${url} has no inline style or script`);
    }
    const article = await visitor.get(articleUrl);
    assert.match(article.body, /<h1>Heading<\/h1>/, 'the Markdown body is rendered');
    const editor = await author.get(`/editor${articleUrl.slice('/article'.length)}`);
    assert.equal(editor.statusCode, 200);
    assert.ok(!editor.body.includes(XSS) && editor.body.includes(ESCAPED), 'the editor echoes the values escaped');
  });

  test(`[${backend}] the editor refuses another member's article with 403, on GET and on POST`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const other = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username, { title: 'Mine alone' });
    assert.equal((await other.get(`/editor/${slug}`)).statusCode, 403);
    const post = await other.post(`/editor/${slug}`, { title: 'Taken over', description: 'x', body: 'y' });
    assert.equal(post.statusCode, 403);
    const page = await other.get(`/article/${slug}`);
    assert.match(page.body, /Mine alone/);
    assert.doesNotMatch(page.body, /Taken over|Edit article|Delete article/);
    // Moderators may delete but not edit.
    await setRole(runtime, other.username, 'moderator');
    assert.equal((await other.get(`/editor/${slug}`)).statusCode, 403);
    const own = await author.post(
      `/editor/${slug}`,
      { title: 'Mine, edited', description: 'x', body: 'y', tagList: 'one two,three' },
      { from: `/editor/${slug}` },
    );
    assert.equal(own.statusCode, 303);
    assert.equal(own.headers.location, `/article/${slug}`);
    const edited = await author.get(`/article/${slug}`);
    assert.match(edited.body, /Mine, edited/);
    assert.match(edited.body, /href="\/\?tag=one"[\s\S]*href="\/\?tag=three"[\s\S]*href="\/\?tag=two"/);
  });

  test(`[${backend}] an invalid article form comes back with messages and the typed values, escaped`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const blank = await author.post(
      '/editor',
      { title: '   ', description: `"><img src=x onerror=alert(1)>`, body: 'text' },
      { from: '/editor' },
    );
    assert.equal(blank.statusCode, 422);
    assert.match(blank.body, /title can&#39;t be blank|title can't be blank/);
    assert.match(blank.body, /value="&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;"/);
    const tooLong = await author.post('/editor', { title: 'x'.repeat(300), description: 'd', body: 'b' }, { from: '/editor' });
    assert.equal(tooLong.statusCode, 422);
    assert.match(tooLong.body, /title is too long/);
    const smuggled = await author.post(
      '/editor',
      { title: 't', description: 'd', body: 'b', author_id: '1', role: 'admin' },
      { from: '/editor' },
    );
    assert.equal(smuggled.statusCode, 422);
    assert.match(smuggled.body, /is not a field of this form/);
    const tags = await author.post(
      '/editor',
      { title: 't', description: 'd', body: 'b', tagList: Array.from({ length: 21 }, (_, i) => `t${i}`).join(' ') },
      { from: '/editor' },
    );
    assert.equal(tags.statusCode, 422);
    const count = await conduitDb(runtime.db)
      .selectFrom('articles')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0, 'nothing was written');
  });

  test(`[${backend}] visitors are sent to log in for the editor and for every form post`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username);
    const visitor = newBrowser(app);
    const editor = await visitor.get('/editor');
    assert.equal(editor.statusCode, 303);
    assert.equal(editor.headers.location, '/login?next=%2Feditor');
    assert.equal((await visitor.get(`/editor/${slug}`)).headers.location, `/login?next=${encodeURIComponent(`/editor/${slug}`)}`);
    assert.equal((await visitor.get('/?feed=following')).headers.location, `/login?next=${encodeURIComponent('/?feed=following')}`);
    for (const url of [
      '/editor',
      `/article/${slug}/favorite`,
      `/article/${slug}/unfavorite`,
      `/article/${slug}/delete`,
      `/article/${slug}/comments`,
      `/profile/${author.username}/follow`,
      `/article/${slug}/comments/1/delete`,
    ]) {
      const res = await visitor.post(
        url,
        url.endsWith('/comments') ? { body: 'hi' } : url === '/editor' ? { title: 't', description: 'd', body: 'b' } : {},
      );
      assert.equal(res.statusCode, 303, url);
      assert.match(String(res.headers.location), /^\/login\?next=/, url);
    }
    assert.equal((await visitor.get(`/article/${slug}`)).statusCode, 200, 'the article is still there');
  });

  test(`[${backend}] a form post without the CSRF token is refused and changes nothing`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username);
    const res = await author.post(`/article/${slug}/delete`, {}, { csrf: false });
    assert.equal(res.statusCode, 403);
    const forged = await author.post(`/article/${slug}/delete`, { _csrf: 'forged' }, { csrf: false });
    assert.equal(forged.statusCode, 403);
    assert.equal((await author.get(`/article/${slug}`)).statusCode, 200);
  });

  test(`[${backend}] an article is deleted by its author and by a moderator, never by another member`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const member = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    const first = await writeArticle(runtime, author.username);
    const second = await writeArticle(runtime, author.username);
    const refused = await member.post(`/article/${first}/delete`);
    assert.equal(refused.statusCode, 403);
    assert.equal((await member.get(`/article/${first}`)).statusCode, 200);
    const denials = await runtime.db.kysely.selectFrom('audit_log').select('event').where('event', '=', 'authz.deny').execute();
    assert.equal(denials.length, 1, 'the refusal is audited');
    const own = await author.post(`/article/${first}/delete`);
    assert.equal(own.statusCode, 303);
    assert.equal(own.headers.location, '/');
    assert.equal((await author.get(`/article/${first}`)).statusCode, 404);
    assert.match((await moderator.get(`/article/${second}`)).body, /Delete article/);
    assert.equal((await moderator.post(`/article/${second}/delete`)).statusCode, 303);
    assert.equal((await moderator.get(`/article/${second}`)).statusCode, 404);
    const moderated = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'content.moderate').execute();
    assert.equal(moderated.length, 1);
  });

  test(`[${backend}] favorite and unfavorite buttons post, count and come back; a foreign next is ignored`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const fan = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username, { title: 'Likeable' });
    const fav = await fan.post(`/article/${slug}/favorite`, { next: '/?tag=x' });
    assert.equal(fav.statusCode, 303);
    assert.equal(fav.headers.location, '/?tag=x');
    const page = await fan.get(`/article/${slug}`);
    assert.match(page.body, /action="\/article\/[^"]+\/unfavorite"/);
    assert.match(page.body, /<span class="count">1<\/span>/);
    for (const next of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
      const res = await fan.post(`/article/${slug}/unfavorite`, { next });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/', next);
    }
    assert.match((await fan.get(`/profile/${fan.username}?tab=favorites`)).body, /No favorited articles yet/);
    assert.equal((await fan.post('/article/no-such-article/favorite')).statusCode, 404);
  });
}

for (const backend of BACKENDS) {
  // Found by the route fuzzer: the form's error list was a plain object, so a field named after
  // an Object.prototype member made the editor answer 500.
  test(`[${backend}] editor fields named constructor, __proto__ or toString are refused as unknown fields, never a 500`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await author.post('/editor', { title: 't', description: 'd', body: 'b', tagList: '', [name]: 'x' }, { from: '/editor' });
      assert.equal(res.statusCode, 422, name);
      assert.match(res.body, /is not a field of this form/, name);
    }
  });
}

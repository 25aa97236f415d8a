import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime } from 'bastion';
import { BACKENDS, type PageBrowser, registeredBrowser } from 'bastion/testing';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// /admin/content, attacked: members are refused the page and its delete buttons; a moderator
// (and an admin) deletes another member's article and comment there through the Conduit
// services, and each deletion is a content.moderate audit event.

const rowIds = (html: string, kind: 'article' | 'comment'): number[] =>
  [...html.matchAll(new RegExp(`<tr id="${kind}-(\\d+)"`, 'g'))].map((m) => Number(m[1]));

async function moderate(runtime: Runtime) {
  const rows = await runtime.db.kysely.selectFrom('audit_log').selectAll().where('event', '=', 'content.moderate').orderBy('id').execute();
  return rows.map((r) => ({ actor: r.actor_name, details: JSON.parse(r.details) as Record<string, unknown> }));
}

async function commentOn(writer: PageBrowser, slug: string, body: string): Promise<void> {
  assert.equal((await writer.post(`/article/${slug}/comments`, { body })).statusCode, 303);
}

const articleExists = async (runtime: Runtime, slug: string): Promise<boolean> =>
  (await conduitDb(runtime.db).selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirst()) !== undefined;

for (const backend of BACKENDS) {
  test(`[${backend}] a member gets 403 on /admin/content and on its delete buttons; nothing is deleted`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const member = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username);
    await commentOn(author, slug, 'mine');
    const commentId = (await conduitDb(runtime.db).selectFrom('comments').select('id').executeTakeFirstOrThrow()).id;

    const page = await member.get('/admin/content');
    assert.equal(page.statusCode, 403);
    assert.doesNotMatch(page.body, /article-\d+|comment-\d+/);
    assert.equal((await member.post(`/admin/content/articles/${slug}/delete`)).statusCode, 403);
    assert.equal((await member.post(`/admin/content/comments/${commentId}/delete`)).statusCode, 403);
    // Not even the author may use the moderation routes on their own content.
    assert.equal((await author.post(`/admin/content/articles/${slug}/delete`)).statusCode, 403);
    assert.ok(await articleExists(runtime, slug));
    assert.equal((await conduitDb(runtime.db).selectFrom('comments').select('id').execute()).length, 1);
    assert.deepEqual(await moderate(runtime), []);
    const denials = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'authz.deny').execute();
    assert.equal(denials.length, 4);
    assert.deepEqual(JSON.parse(denials[0]!.details), { method: 'GET', route: '/admin/content', need: 'moderator' });
  });

  test(`[${backend}] a moderator deletes another member's comment and article from /admin/content, audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const commenter = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    const slug = await writeArticle(runtime, author.username, { title: 'Spam <b>here</b>' });
    const kept = await writeArticle(runtime, author.username, { title: 'Fine article' });
    await commentOn(commenter, kept, 'buy <script>now</script>');
    await commentOn(commenter, kept, 'a fair point');
    const [bad, fair] = (await conduitDb(runtime.db).selectFrom('comments').select('id').orderBy('id').execute()).map((r) => r.id);

    const articles = await moderator.get('/admin/content');
    assert.equal(articles.statusCode, 200);
    assert.equal(articles.headers['cache-control'], 'no-store');
    assert.match(articles.body, /Spam &lt;b&gt;here&lt;\/b&gt;/, 'titles are escaped');
    assert.match(articles.body, new RegExp(`action="/admin/content/articles/${slug}/delete"`));
    const comments = await moderator.get('/admin/content?show=comments');
    assert.deepEqual(rowIds(comments.body, 'comment'), [fair, bad], 'newest first');
    assert.match(comments.body, /buy &lt;script&gt;now&lt;\/script&gt;/);
    assert.doesNotMatch(comments.body, /<script>now/);

    const res = await moderator.post(
      `/admin/content/comments/${bad}/delete`,
      { back: '/admin/content?show=comments' },
      { from: '/admin/content?show=comments' },
    );
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin/content?show=comments&done=comment');
    assert.deepEqual(rowIds((await moderator.get('/admin/content?show=comments')).body, 'comment'), [fair]);

    assert.equal(
      (await moderator.post(`/admin/content/articles/${slug}/delete`, {}, { from: '/admin/content' })).headers.location,
      '/admin/content?done=article',
    );
    assert.equal(await articleExists(runtime, slug), false);
    assert.ok(await articleExists(runtime, kept));

    assert.deepEqual(await moderate(runtime), [
      { actor: moderator.username, details: { action: 'comment.delete', slug: kept, commentId: bad, author: commenter.username } },
      { actor: moderator.username, details: { action: 'article.delete', slug, author: author.username } },
    ]);
    // Gone is gone: a replayed form finds nothing.
    assert.equal((await moderator.post(`/admin/content/articles/${slug}/delete`, {}, { from: '/admin/content' })).statusCode, 404);
    assert.equal((await moderator.post(`/admin/content/comments/${bad}/delete`, {}, { from: '/admin/content' })).statusCode, 404);
  });

  test(`[${backend}] an admin moderates too; the moderator sees only the Content tab, the admin all three`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const admin = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, admin.username, 'admin');
    await setRole(runtime, moderator.username, 'moderator');
    const slug = await writeArticle(runtime, author.username);
    const modPage = (await moderator.get('/admin/content')).body;
    assert.doesNotMatch(modPage, /href="\/admin"|href="\/admin\/audit"/);
    const adminPage = (await admin.get('/admin/content')).body;
    assert.match(adminPage, /href="\/admin">Users/);
    assert.match(adminPage, /href="\/admin\/audit">Audit log/);
    assert.equal((await admin.post(`/admin/content/articles/${slug}/delete`, {}, { from: '/admin/content' })).statusCode, 303);
    assert.equal(await articleExists(runtime, slug), false);
    assert.equal((await moderate(runtime))[0]?.actor, admin.username);
  });

  test(`[${backend}] moderation forms refuse extra fields, foreign return addresses, bad ids, a missing CSRF token and bad list queries`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    const slug = await writeArticle(runtime, author.username);
    await commentOn(author, slug, 'hello');
    const commentId = (await conduitDb(runtime.db).selectFrom('comments').select('id').executeTakeFirstOrThrow()).id;
    const attempts: [string, Record<string, string>][] = [
      [`/admin/content/articles/${slug}/delete`, { author_id: '1' }],
      [`/admin/content/articles/${slug}/delete`, { back: 'https://evil.example/' }],
      [`/admin/content/articles/${slug}/delete`, { back: '/admin/../logout' }],
      [`/admin/content/comments/${commentId}/delete`, { id: '1' }],
      [`/admin/content/comments/${commentId}/delete`, { slug: 'other' }],
      ['/admin/content/comments/0/delete', {}],
      ['/admin/content/comments/x/delete', {}],
      [`/admin/content/articles/${'a'.repeat(200)}/delete`, {}],
    ];
    for (const [url, fields] of attempts) {
      const res = await moderator.post(url, fields, { from: '/admin/content' });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url} ${JSON.stringify(fields)}: ${res.statusCode}`);
    }
    assert.equal((await moderator.post(`/admin/content/articles/${slug}/delete`, {}, { csrf: false })).statusCode, 403);
    for (const query of ['show=users', 'page=0', 'page=-1', 'done=<b>']) {
      const res = await moderator.get(`/admin/content?${query}`);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${query}: ${res.statusCode}`);
    }
    assert.ok(await articleExists(runtime, slug));
    assert.equal((await conduitDb(runtime.db).selectFrom('comments').select('id').execute()).length, 1);
    assert.deepEqual(await moderate(runtime), []);
  });

  test(`[${backend}] the moderation lists page through every article and comment`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    for (let i = 0; i < 12; i++) await writeArticle(runtime, author.username, { title: `Article ${i}` });
    const ids = (
      await conduitDb(runtime.db).selectFrom('articles').select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    ).map((r) => r.id);
    const first = await moderator.get('/admin/content');
    assert.deepEqual(rowIds(first.body, 'article'), ids.slice(0, 10));
    assert.match(first.body, /href="\/admin\/content\?page=2"/);
    assert.deepEqual(rowIds((await moderator.get('/admin/content?page=2')).body, 'article'), ids.slice(10));

    const slug = await writeArticle(runtime, author.username);
    for (let i = 0; i < 11; i++) await commentOn(author, slug, `comment ${i}`);
    const commentIds = (await conduitDb(runtime.db).selectFrom('comments').select('id').orderBy('id', 'desc').execute()).map((r) => r.id);
    const comments = await moderator.get('/admin/content?show=comments');
    assert.deepEqual(rowIds(comments.body, 'comment'), commentIds.slice(0, 10));
    assert.match(comments.body, /href="\/admin\/content\?show=comments&amp;page=2"/);
    assert.deepEqual(rowIds((await moderator.get('/admin/content?show=comments&page=2')).body, 'comment'), commentIds.slice(10));
  });
}

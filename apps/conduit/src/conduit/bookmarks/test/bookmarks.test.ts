import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, loggedInBrowser, type PageBrowser } from 'bastion/testing';
import { api, makeUser, postArticle, STRONG_PASSWORD, type TestUser } from '../../../../test/helpers/conduit-api.js';
import { startTestApp, type TestApp } from '../../../../test/helpers/test-app.js';

// Private bookmarks (apps/conduit/src/conduit/bookmarks/), attacked as a stranger would: another member and
// an anonymous caller try to read and remove a member's bookmarks by their ids, through both
// faces; a form without its token is refused; the feature's limit holds.

const signIn = (t: TestApp, user: TestUser): Promise<PageBrowser> =>
  loggedInBrowser(t.app, { email: user.email, password: STRONG_PASSWORD, username: user.username });

async function bookmarkRows(t: TestApp): Promise<Array<{ id: number; user_id: number }>> {
  return t.runtime.db.kysely
    .$extendTables<{ bookmarks: { id: number; user_id: number } }>()
    .selectFrom('bookmarks')
    .select(['id', 'user_id'])
    .orderBy('id')
    .execute();
}

for (const backend of BACKENDS) {
  test(`[${backend}] a member bookmarks an article from its page and lists it on /bookmarks and at GET /api/bookmarks`, async (t) => {
    const app = await startTestApp(t, backend);
    const ana = await makeUser(app.app, app.runtime, 'ana');
    const slug = await postArticle(app.app, ana, { title: 'Worth <keeping>' });
    const browser = await signIn(app, ana);
    // The button is the article page's form, with its CSRF token.
    const added = await browser.post(`/article/${slug}/bookmark`, {}, { from: `/article/${slug}` });
    assert.equal(added.statusCode, 303);
    assert.equal(added.headers.location, '/bookmarks');
    assert.equal(
      (await browser.post(`/article/${slug}/bookmark`, {}, { from: `/article/${slug}` })).statusCode,
      303,
      'twice is still one bookmark',
    );
    const page = await browser.get('/bookmarks');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Worth &lt;keeping&gt;/, 'the title, escaped');
    assert.match(page.headers['cache-control'] as string, /no-store/);
    const listed = await api(app.app, 'GET', '/api/bookmarks', { user: ana });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      listed.json().bookmarks.map((b: { slug: string; title: string }) => [b.slug, b.title]),
      [[slug, 'Worth <keeping>']],
    );
    assert.equal((await bookmarkRows(app)).length, 1);
  });

  test(`[${backend}] another member and an anonymous caller cannot see or remove a member's bookmarks, even with its id`, async (t) => {
    const app = await startTestApp(t, backend);
    const ana = await makeUser(app.app, app.runtime, 'ana');
    const bob = await makeUser(app.app, app.runtime, 'bob');
    const slug = await postArticle(app.app, ana, { title: 'Private reading' });
    const made = await api(app.app, 'POST', `/api/articles/${slug}/bookmark`, { user: ana });
    assert.equal(made.statusCode, 201);
    const id = made.json().bookmark.id as number;

    const bobPages = await signIn(app, bob);
    assert.doesNotMatch((await bobPages.get('/bookmarks')).body, /Private reading/);
    assert.deepEqual((await api(app.app, 'GET', '/api/bookmarks', { user: bob })).json(), { bookmarks: [] });
    // Another member's id is not found, as an unknown one is: nothing says that it exists.
    assert.equal((await bobPages.post(`/bookmarks/${id}/delete`, {}, { from: '/bookmarks' })).statusCode, 404);
    assert.equal((await api(app.app, 'DELETE', `/api/bookmarks/${id}`, { user: bob })).statusCode, 404);
    assert.equal((await api(app.app, 'DELETE', `/api/bookmarks/${id + 1000}`, { user: bob })).statusCode, 404);

    const anonymousPage = await app.app.inject({ method: 'GET', url: '/bookmarks' });
    assert.equal(anonymousPage.statusCode, 303);
    assert.equal(anonymousPage.headers.location, '/login?next=%2Fbookmarks');
    assert.equal((await api(app.app, 'GET', '/api/bookmarks')).statusCode, 401);
    assert.equal((await api(app.app, 'DELETE', `/api/bookmarks/${id}`)).statusCode, 401);
    assert.equal((await api(app.app, 'POST', `/api/articles/${slug}/bookmark`)).statusCode, 401);
    const anonymousDelete = await app.app.inject({
      method: 'POST',
      url: `/bookmarks/${id}/delete`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    assert.equal(anonymousDelete.statusCode, 303);
    assert.match(anonymousDelete.headers.location as string, /^\/login/);
    // The page's cookie is no credential for the API.
    assert.equal(
      (await app.app.inject({ method: 'GET', url: '/api/bookmarks', headers: { cookie: bobPages.cookieHeader } })).statusCode,
      401,
    );

    assert.deepEqual(
      (await bookmarkRows(app)).map((r) => r.user_id),
      [ana.id],
      "ana's bookmark is untouched",
    );
    assert.equal((await api(app.app, 'DELETE', `/api/bookmarks/${id}`, { user: ana })).statusCode, 204, 'its owner removes it');
    assert.deepEqual(await bookmarkRows(app), []);
  });

  test(`[${backend}] a bookmark form without its CSRF token, or with a forged one, is refused and changes nothing`, async (t) => {
    const app = await startTestApp(t, backend);
    const ana = await makeUser(app.app, app.runtime, 'ana');
    const slug = await postArticle(app.app, ana, { title: 'Forged' });
    const browser = await signIn(app, ana);
    assert.equal((await browser.post(`/article/${slug}/bookmark`, {}, { csrf: false })).statusCode, 403);
    assert.equal((await browser.post(`/article/${slug}/bookmark`, { _csrf: 'a'.repeat(64) }, { csrf: false })).statusCode, 403);
    assert.deepEqual(await bookmarkRows(app), []);
    const id = (await api(app.app, 'POST', `/api/articles/${slug}/bookmark`, { user: ana })).json().bookmark.id as number;
    assert.equal((await browser.post(`/bookmarks/${id}/delete`, {}, { csrf: false })).statusCode, 403);
    assert.equal((await bookmarkRows(app)).length, 1);
  });

  test(`[${backend}] bad input is a 4xx: an unknown slug, a non-number id, a body where none is taken`, async (t) => {
    const app = await startTestApp(t, backend);
    const ana = await makeUser(app.app, app.runtime, 'ana');
    assert.equal((await api(app.app, 'POST', '/api/articles/no-such-article/bookmark', { user: ana })).statusCode, 404);
    assert.equal((await api(app.app, 'DELETE', '/api/bookmarks/1e3', { user: ana })).statusCode, 422);
    assert.equal((await api(app.app, 'DELETE', '/api/bookmarks/1', { user: ana, body: { user_id: 1 } })).statusCode, 422);
    assert.deepEqual(await bookmarkRows(app), []);
  });

  test(`[${backend}] the feature's write limit: 30 a minute per account, across both faces, then 429 with Retry-After, audited`, async (t) => {
    const app = await startTestApp(t, backend);
    const ana = await makeUser(app.app, app.runtime, 'ana');
    const bob = await makeUser(app.app, app.runtime, 'bob');
    const slug = await postArticle(app.app, ana, { title: 'Limited' });
    for (let i = 0; i < 29; i += 1)
      assert.equal((await api(app.app, 'POST', `/api/articles/${slug}/bookmark`, { user: ana })).statusCode, 201);
    const browser = await signIn(app, ana);
    assert.equal(
      (await browser.post(`/article/${slug}/bookmark`, {}, { from: `/article/${slug}` })).statusCode,
      303,
      'the 30th, from the page',
    );
    const refused = await api(app.app, 'POST', `/api/articles/${slug}/bookmark`, { user: ana });
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(
      (await browser.post(`/article/${slug}/bookmark`, {}, { from: `/article/${slug}` })).statusCode,
      429,
      'the page shares the count',
    );
    assert.equal((await api(app.app, 'GET', '/api/bookmarks', { user: ana })).statusCode, 200, 'reading is not limited by it');
    assert.equal(
      (await api(app.app, 'POST', `/api/articles/${slug}/bookmark`, { user: bob })).statusCode,
      201,
      'another account has its own count',
    );
    const audited = await app.runtime.db.kysely
      .selectFrom('audit_log')
      .select(['details', 'actor_id'])
      .where('event', '=', 'ratelimit.hit')
      .execute();
    assert.equal(audited.length, 1, 'audited once, not per refusal');
    assert.equal(audited[0]!.actor_id, ana.id);
    assert.equal(JSON.parse(audited[0]!.details).limit, 'bookmarks:write');
  });
}

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BACKENDS, TestClient } from 'bastion/testing';
import { createUser, type TestUser } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// SPEC §2: "The API never reads the session cookie, so it has no CSRF surface." Which face a
// request gets (session + CSRF, or token) is the scope of the route the router matched, never a
// test on how the URL is spelled. A browser carries its session cookie to every URL an attacker
// can make it visit: spelled any way at all, /api/user must not answer it with the user's data.

/** Spellings of /api/user a URL-prefix test would not see as /api (and a router might match). */
const SPELLINGS = [
  '/%61pi/user',
  '/%61%70%69/user',
  '/api/%75ser',
  '/%2e/api/user',
  '/./api/user',
  '/api/../api/user',
  '/x/../api/user',
  '//api/user',
  '/API/user',
  '/Api/user',
  '/api%2fuser',
  '/api%2Fuser',
  '/api/user/',
  '/api//user',
  '/api/user?',
  '/api/user#x',
  '/api;/user',
  '/%20/api/user',
];

async function signedIn(app: FastifyInstance, user: TestUser): Promise<TestClient> {
  const browser = new TestClient(app);
  const login = await browser.login(user.email, user.password);
  assert.equal(login.statusCode, 303, 'signed in');
  return browser;
}

/** A GET over real HTTP with the path sent exactly as given (app.inject normalises dot segments). */
function rawGet(app: FastifyInstance, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

function assertNoUserData(res: { status: number; body: string }, user: TestUser, what: string): void {
  assert.ok(!res.body.includes(user.email), `${what}: the answer (${res.status}) carries the user's email`);
  assert.ok(res.status !== 200 || !res.body.includes('"user"'), `${what}: a user object was answered`);
}

for (const backend of BACKENDS) {
  test(`[${backend}] /api/user spelled any way, with a valid session cookie and no token, never answers the user's data`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = await signedIn(app, user);
    const cookie = browser.cookieHeader;
    // GET /api/user echoes the token it was called with: a made-up one beside the cookie is what
    // let a page's session answer as the API before.
    const attempts: Array<Record<string, string>> = [{ cookie }, { cookie, authorization: `Token ${'A'.repeat(43)}` }];
    for (const headers of attempts) {
      for (const url of SPELLINGS) {
        const res = await app.inject({ method: 'GET', url, headers });
        assertNoUserData({ status: res.statusCode, body: res.body }, user, `inject ${url}`);
      }
    }
    await app.listen({ host: '127.0.0.1', port: 0 });
    for (const headers of attempts) {
      for (const path of SPELLINGS) assertNoUserData(await rawGet(app, path, headers), user, `HTTP ${path}`);
    }
  });

  test(`[${backend}] a member-only API route spelled another way is not opened by a session cookie`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const { cookieHeader: cookie } = await signedIn(app, user);
    for (const url of ['/%61pi/articles/feed', '/api/%61rticles/feed']) {
      const res = await app.inject({ url, headers: { cookie } });
      assert.equal(res.statusCode, 401, url);
    }
  });

  test(`[${backend}] a spelling the router matches to an API route is the API face: token in, cookie ignored`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const token = await app.apiTokens.issue(user.id);
    const { cookieHeader: cookie } = await signedIn(app, user);
    const withCookie = await app.inject({ url: '/%61pi/user', headers: { cookie } });
    assert.equal(withCookie.statusCode, 401, 'the route is the API, and the API does not read the cookie');
    assert.deepEqual(Object.keys(withCookie.json().errors), ['body'], 'in the RealWorld error shape');
    assert.equal(withCookie.headers['cache-control'], 'no-store');
    const withToken = await app.inject({ url: '/%61pi/user', headers: { authorization: `Token ${token}` } });
    assert.equal(withToken.statusCode, 200);
    assert.equal(withToken.json().user.email, user.email);
    const unknown = await app.inject({ url: '/%61pi/no/such/route', headers: { cookie } });
    assert.equal(unknown.statusCode, 404);
    assert.match(String(unknown.headers['content-type']), /^application\/json/, 'an unknown path under the API prefix gets the API 404');
  });

  test(`[${backend}] unsafe API calls with only a session cookie (no token, no CSRF token) are anonymous: 401, nothing written`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const { cookieHeader: cookie } = await signedIn(app, user);
    const article = { article: { title: 'Forged', description: 'by cookie', body: 'x', tagList: [] } };
    for (const url of ['/api/articles', '/%61pi/articles']) {
      const res = await app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/json' }, payload: article });
      assert.equal(res.statusCode, 401, url);
    }
    const put = await app.inject({
      method: 'PUT',
      url: '/%61pi/user',
      headers: { cookie, 'content-type': 'application/json' },
      payload: { user: { bio: 'forged' } },
    });
    assert.equal(put.statusCode, 401);
    assert.equal((await conduitDb(runtime.db).selectFrom('articles').select('id').execute()).length, 0);
    assert.equal((await runtime.db.kysely.selectFrom('users').select('bio').where('id', '=', user.id).executeTakeFirstOrThrow()).bio, '');
  });

  test(`[${backend}] a page with a valid API token and no cookie is not signed in`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const authorization = `Token ${await app.apiTokens.issue(user.id)}`;
    const settings = await app.inject({ url: '/settings', headers: { authorization } });
    assert.equal(settings.statusCode, 303);
    assert.equal(settings.headers.location, '/login?next=%2Fsettings');
    const home = await app.inject({ url: '/', headers: { authorization } });
    assert.equal(home.statusCode, 200);
    assert.ok(!home.body.includes(user.username), "the page does not know the token's user");
    assert.match(home.body, /href="\/login"/);
  });

  test(`[${backend}] HTML forms still need their CSRF token, however the form's URL is spelled`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = await signedIn(app, user);
    for (const url of ['/settings/logout-everywhere', '/%73ettings/logout-everywhere']) {
      const res = await browser.post(url, {}, { csrf: false });
      assert.equal(res.statusCode, 403, url);
    }
    const page = await browser.get('/settings');
    assert.equal(page.statusCode, 200, 'still signed in');
  });

  test(`[${backend}] an unknown page is the pages' 404: an HTML page that still knows who is signed in`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = await signedIn(app, user);
    for (const url of ['/no/such/page', '//api/user', '/API/user']) {
      const res = await browser.get(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      assert.ok(res.body.includes(`>${user.username}</a>`), `${url}: the layout shows the signed-in user`);
      assert.ok(!res.body.includes(user.email), url);
    }
  });
}

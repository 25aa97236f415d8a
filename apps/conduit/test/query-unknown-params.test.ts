import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { api, makeUser } from './helpers/conduit-api.js';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "query strings": a parameter a route does not know is ignored, because shared links
// carry them (utm_*, fbclid, gclid, a mail client's tracking). It never reaches the route, and
// the page's own links do not repeat it. Bodies stay strict: an unknown field is still refused.

const TRACKING = 'utm_source=newsletter&utm_medium=email&utm_campaign=spring&fbclid=IwAR0x&gclid=Cj0K&ref=hn&_=1700000000';
const ODD_KEYS = '__proto__=x&constructor=y&prototype=z&hasOwnProperty=1';
const with_ = (path: string, extra: string): string => `${path}${path.includes('?') ? '&' : '?'}${extra}`;

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(`[${backend}] every page answers a shared link with tracking parameters as it answers the clean link`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await registeredBrowser(app);
    await setRole(runtime, admin.username, 'admin');
    const slug = await writeArticle(runtime, admin.username, { title: 'Shared widely', tagList: ['news'] });
    const pages = [
      '/',
      '/?page=1',
      '/?tag=news',
      '/?feed=following',
      '/search?q=shared',
      `/profile/${admin.username}`,
      `/profile/${admin.username}?tab=favorites`,
      `/article/${slug}`,
      '/login',
      '/register',
      '/settings',
      '/admin',
      '/admin/content',
      '/admin/audit',
      '/healthz',
    ];
    for (const path of pages) {
      const clean = await admin.get(path);
      assert.equal(clean.statusCode, 200, `${path}: ${clean.statusCode}`);
      for (const extra of [TRACKING, ODD_KEYS]) {
        const shared = await admin.get(with_(path, extra));
        assert.equal(shared.statusCode, 200, `${with_(path, extra)}: ${shared.statusCode}`);
        assert.deepEqual(titles(shared.body), titles(clean.body), `${path}: the same list`);
      }
    }
    // The list's own links (pages, tags, feeds) keep its parameters, not the link's tracking.
    for (let i = 1; i <= 10; i++) await writeArticle(runtime, admin.username, { title: `More news ${i}`, tagList: ['news'] });
    const home = await newBrowser(app).get(with_('/?tag=news', TRACKING));
    assert.equal(titles(home.body).length, 10);
    const links = [...home.body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(links.includes('/?tag=news&amp;page=2'), 'the next page keeps the tag');
    // Only "sign in, then come back here" returns to the address exactly as it was visited.
    assert.deepEqual(
      links.filter((href) => /utm_|fbclid|gclid/.test(href) && !href.startsWith('/login?next=')),
      [],
    );
  });

  test(`[${backend}] every API read answers a link with tracking parameters as it answers the clean one`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const reader = await makeUser(app, runtime, 'reader');
    await api(app, 'POST', '/api/profiles/jake/follow', { user: reader });
    const slug = (
      await api(app, 'POST', '/api/articles', {
        user: jake,
        body: { article: { title: 'Linked', description: 'd', body: 'b', tagList: ['x'] } },
      })
    ).json().article.slug as string;
    const reads = [
      '/api/articles',
      '/api/articles?limit=1&offset=0',
      '/api/articles?tag=x',
      '/api/articles?author=jake',
      '/api/articles/feed',
      `/api/articles/${slug}`,
      `/api/articles/${slug}/comments`,
      '/api/profiles/jake',
      '/api/tags',
      '/api/user',
    ];
    for (const path of reads) {
      const clean = await api(app, 'GET', path, { user: reader });
      assert.equal(clean.statusCode, 200, `${path}: ${clean.body}`);
      for (const extra of [TRACKING, ODD_KEYS]) {
        const shared = await api(app, 'GET', with_(path, extra), { user: reader });
        assert.equal(shared.statusCode, 200, `${with_(path, extra)}: ${shared.body}`);
        // The token in /api/user is the caller's own; everything else must be the same answer.
        assert.deepEqual(shared.json(), clean.json(), `${path}: the same answer`);
      }
    }
    // A known parameter keeps its meaning beside unknown ones.
    assert.equal((await api(app, 'GET', '/api/articles?fbclid=x&tag=nothing-here')).json().articlesCount, 0);
  });

  test(`[${backend}] an unknown query parameter never reaches the route; a known one with a bad value is still refused`, async (t) => {
    const echoQuery = { type: 'object', additionalProperties: false, properties: { q: { type: 'string', maxLength: 8 } } } as const;
    // The answer is open on purpose: it shows whatever reached the handler, so a leak would show.
    const whatGot = {
      type: 'object',
      additionalProperties: false,
      properties: { got: { type: 'object', additionalProperties: true } },
    } as const;
    const echo: FastifyPluginAsync = async (scope) => {
      scope.get(
        '/test-echo-query',
        { config: { access: 'public' }, schema: { querystring: echoQuery, response: { 200: whatGot } } },
        async (request) => ({ got: request.query }),
      );
    };
    const { app } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: echo } });
    const echoed = await app.inject({ url: `/api/test-echo-query?q=kept&${TRACKING}&${ODD_KEYS}` });
    assert.equal(echoed.statusCode, 200, echoed.body);
    assert.deepEqual(echoed.json(), { got: { q: 'kept' } });
    assert.equal(
      (await app.inject({ url: `/api/test-echo-query?q=${'x'.repeat(9)}&utm_source=x` })).statusCode,
      422,
      'a known parameter is still checked',
    );
    assert.equal((await app.inject({ url: '/api/articles?utm_source=x&limit=0' })).statusCode, 422);
    assert.equal((await app.inject({ url: '/?utm_source=x&feed=everything' })).statusCode, 422);
  });

  test(`[${backend}] bodies stay strict: an unknown field in a JSON body or a form is still refused`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const post = await api(app, 'POST', '/api/articles', {
      user: jake,
      body: { article: { title: 't', description: 'd', body: 'b', authorId: 1 } },
    });
    assert.equal(post.statusCode, 422, post.body);
    assert.deepEqual(post.json().errors, { authorId: ['is not a field that can be set'] });
    const update = await api(app, 'PUT', '/api/user', { user: jake, body: { user: { bio: 'hi', role: 'admin' } } });
    assert.equal(update.statusCode, 422, update.body);
    const browser = newBrowser(app);
    const form = await browser.post(
      '/register',
      { username: 'newbie', email: 'newbie@example.com', password: 'violet-kettle-Tr0mbone-47', role: 'admin' },
      { from: '/register' },
    );
    assert.ok(form.statusCode >= 400 && form.statusCode < 500, `a form with an unknown field: ${form.statusCode}`);
    assert.equal(await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', 'newbie').executeTakeFirst(), undefined);
  });
}

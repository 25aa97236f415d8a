import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, registeredBrowser } from 'bastion/testing';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// The anonymous CSRF cookie is set by pages that carry a form, and only by them: an anonymous
// reader of an article or of the home page gets no cookie (nothing to post, nothing to track),
// while the login page — a form — still gets its token and the cookie it is bound to, and that
// token still posts.

const csrfCookie = (setCookie: string | string[] | undefined): string | undefined =>
  ([] as string[]).concat(setCookie ?? []).find((c) => /^(?:__Host-)?csrf=/.test(c));

for (const backend of BACKENDS) {
  test(`[${backend}] pages without a form set no CSRF cookie; the login form gets a token that posts`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username, { title: 'Read me anonymously' });

    for (const url of ['/', `/article/${slug}`]) {
      const page = await app.inject({ url });
      assert.equal(page.statusCode, 200, url);
      assert.equal(csrfCookie(page.headers['set-cookie']), undefined, `${url} sets no CSRF cookie`);
      assert.doesNotMatch(page.body, /name="_csrf"/, `${url} has no form token`);
    }

    const login = await app.inject({ url: '/login' });
    const cookie = csrfCookie(login.headers['set-cookie']);
    const token = /name="_csrf" value="([^"]+)"/.exec(login.body)?.[1];
    assert.ok(cookie && token, 'the login form carries a token and its cookie');
    assert.equal(
      [...login.body.matchAll(/name="_csrf" value="([^"]+)"/g)].every((m) => m[1] === token),
      true,
      'one token per page',
    );
    const posted = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie.split(';', 1)[0]! },
      payload: new URLSearchParams({ email: author.email, password: author.password, _csrf: token }).toString(),
    });
    assert.equal(posted.statusCode, 303, 'the token printed on demand is the one the check accepts');
  });
}

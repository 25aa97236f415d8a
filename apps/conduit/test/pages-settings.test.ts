import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, type PageBrowser, registeredBrowser } from 'bastion/testing';
import { api } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  test(`[${backend}] a bio the textarea allowed is saved even though the browser sent its line breaks as CRLF`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const bio = 'ab\r\n'.repeat(600); // 2400 characters on the wire, 1800 as the textarea counted them
    const res = await browser.post(
      '/settings',
      { image: '', username: browser.username, bio, email: browser.email },
      { from: '/settings' },
    );
    assert.equal(res.statusCode, 303, res.body.slice(0, 300));
    const row = await runtime.db.kysely
      .selectFrom('users')
      .select('bio')
      .where('username', '=', browser.username)
      .executeTakeFirstOrThrow();
    assert.equal(row.bio, 'ab\n'.repeat(600), 'stored with LF line breaks');
  });

  test(`[${backend}] a bio over 2000 characters after line-break normalization is refused with 422, the old bio kept`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const res = await browser.post(
      '/settings',
      { image: '', username: browser.username, bio: 'abc\r\n'.repeat(600), email: browser.email },
      { from: '/settings' },
    );
    assert.equal(res.statusCode, 422);
    const row = await runtime.db.kysely
      .selectFrom('users')
      .select('bio')
      .where('username', '=', browser.username)
      .executeTakeFirstOrThrow();
    assert.equal(row.bio, '');
  });

  // One rule for both faces (packages/bastion/src/accounts/profile-fields.ts): every picture URL the API refuses,
  // the settings form refuses too, and what one accepts the other accepts. The form once checked
  // with `new URL`, which takes an upper-case scheme, no slashes, spaces, quotes and a trailing
  // line break the API refuses.
  test(`[${backend}] the settings form refuses every picture URL the API refuses, and accepts the same ones`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    // Profile saves are limited to 10 an hour per account: a fresh member every few cases.
    let member: { browser: PageBrowser; token: string; saves: number } | null = null;
    const account = async (saves: number) => {
      if (member === null || member.saves + saves > 10) {
        const browser = await registeredBrowser(app);
        const token = (
          await api(app, 'POST', '/api/users/login', { body: { user: { email: browser.email, password: browser.password } } })
        ).json().user.token as string;
        member = { browser, token, saves: 0 };
      }
      member.saves += saves;
      return member;
    };
    const refused = [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      ' javascript:alert(1)',
      'data:image/png;base64,AAAA',
      'data:image/svg+xml,<svg onload=alert(1)>',
      '//evil.example/x.png',
      'https:evil.example/x.png',
      'https:/evil.example/x.png',
      'HTTPS://evil.example/x.png',
      'ftp://evil.example/x.png',
      'http://',
      ' https://example.com/x.png',
      'https://example.com/x.png\n',
      'https://example.com/a b.png',
      'https://example.com/x.png" onerror="alert(1)',
      'https://example.com/<script>',
      'https://example.com/\tx.png',
      `https://example.com/${'a'.repeat(2100)}`,
    ];
    const accepted = ['https://example.com/a.png', 'http://example.com/a.png', "https://example.com/a.png#'x'", ''];
    const stored = async (username: string) =>
      (await runtime.db.kysely.selectFrom('users').select('image').where('username', '=', username).executeTakeFirstOrThrow()).image;
    for (const image of refused) {
      const { browser, token } = await account(1);
      const viaApi = await app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: { authorization: `Token ${token}` },
        payload: { user: { image } },
      });
      assert.equal(viaApi.statusCode, 422, `the API refuses ${JSON.stringify(image.slice(0, 40))}`);
      const viaForm = await browser.post(
        '/settings',
        { image, username: browser.username, bio: '', email: browser.email },
        { from: '/settings' },
      );
      assert.equal(viaForm.statusCode, 422, `the form refuses ${JSON.stringify(image.slice(0, 40))}`);
      assert.equal(await stored(browser.username), null, 'nothing was stored');
    }
    for (const image of accepted) {
      const { browser, token } = await account(2);
      const viaForm = await browser.post(
        '/settings',
        { image, username: browser.username, bio: '', email: browser.email },
        { from: '/settings' },
      );
      assert.equal(viaForm.statusCode, 303, `the form accepts ${JSON.stringify(image)}`);
      assert.equal(await stored(browser.username), image === '' ? null : image);
      const viaApi = await app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: { authorization: `Token ${token}` },
        payload: { user: { image } },
      });
      assert.equal(viaApi.statusCode, 200, `the API accepts ${JSON.stringify(image)}`);
    }
  });

  test(`[${backend}] a bio the API accepts can be saved through the form, and one it refuses cannot`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const save = (bio: string) =>
      browser.post('/settings', { image: '', username: browser.username, bio, email: browser.email }, { from: '/settings' });
    assert.equal((await save('b'.repeat(2000))).statusCode, 303);
    assert.equal((await save('b'.repeat(2001))).statusCode, 422);
    const row = await runtime.db.kysely
      .selectFrom('users')
      .select('bio')
      .where('username', '=', browser.username)
      .executeTakeFirstOrThrow();
    assert.equal(row.bio.length, 2000);
  });
}

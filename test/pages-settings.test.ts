import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { registeredBrowser } from './helpers/login.js';
import { startTestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  test(`[${backend}] a bio the textarea allowed is saved even though the browser sent its line breaks as CRLF`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const bio = 'ab\r\n'.repeat(300); // 1200 characters on the wire, 900 as the textarea counted them
    const res = await browser.post('/settings', { image: '', username: browser.username, bio, email: browser.email }, { from: '/settings' });
    assert.equal(res.statusCode, 303, res.body.slice(0, 300));
    const row = await runtime.db.kysely.selectFrom('users').select('bio').where('username', '=', browser.username).executeTakeFirstOrThrow();
    assert.equal(row.bio, 'ab\n'.repeat(300), 'stored with LF line breaks');
  });

  test(`[${backend}] a bio over 1000 characters after line-break normalization is refused with 422, the old bio kept`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const res = await browser.post('/settings', { image: '', username: browser.username, bio: 'abc\r\n'.repeat(300), email: browser.email }, { from: '/settings' });
    assert.equal(res.statusCode, 422);
    const row = await runtime.db.kysely.selectFrom('users').select('bio').where('username', '=', browser.username).executeTakeFirstOrThrow();
    assert.equal(row.bio, '');
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BACKENDS,
  confirmationTokenFor,
  confirmByLink,
  loggedInBrowser,
  memberBrowser,
  newBrowser,
  type PageBrowser,
} from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// A requested email change is shown on /settings until its link is followed ("a link was sent to
// new@…; your address stays old@… until it is followed"), with a button that calls it off: the
// link dies and the cancellation is audited. A newer request replaces an older one.

const storedEmail = async (t: TestApp, username: string) =>
  (await t.runtime.db.kysely.selectFrom('users').select('email').where('username', '=', username).executeTakeFirstOrThrow()).email;
const stages = async (t: TestApp) =>
  (await t.runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'email.change').orderBy('id').execute()).map(
    (r) => JSON.parse(r.details) as Record<string, string>,
  );

const askChange = (browser: PageBrowser, email: string) =>
  browser.post('/settings', { image: '', username: browser.username, bio: '', email, currentPassword: browser.password });

for (const backend of BACKENDS) {
  test(`[${backend}] /settings shows a pending email change with both addresses; cancelling kills its link, is audited, and keeps the address`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    assert.doesNotMatch((await owner.get('/settings')).body, /email change is waiting/, 'nothing pending at first');
    const next = `next-${owner.email}`;
    assert.equal((await askChange(owner, next)).headers.location, '/settings?done=email-pending');
    const settings = await owner.get('/settings');
    assert.match(
      settings.body,
      new RegExp(`a link was sent to <strong>${next}</strong>\\. Your address stays <strong>${owner.email}</strong> until it is followed`),
    );
    assert.match(settings.body, /<form method="post" action="\/settings\/email\/cancel">/);
    const token = await confirmationTokenFor(ctx.app, next);

    const cancelled = await owner.post('/settings/email/cancel', {}, { from: '/settings' });
    assert.deepEqual([cancelled.statusCode, cancelled.headers.location], [303, '/settings?done=email-cancelled']);
    const after = await owner.get('/settings?done=email-cancelled');
    assert.match(after.body, /The email change was cancelled/);
    assert.doesNotMatch(after.body, /email change is waiting/);
    assert.equal((await confirmByLink(newBrowser(ctx.app), token)).headers.location, '/email/confirmed?result=invalid', 'the link is dead');
    assert.equal(await storedEmail(ctx, owner.username), owner.email);
    assert.deepEqual(
      (await stages(ctx)).map((d) => [d.stage, d.toDomain]),
      [
        ['requested', 'example.com'],
        ['cancelled', 'example.com'],
      ],
    );
    // Pressed again (a stale page): nothing to cancel, nothing audited, no error.
    assert.equal((await owner.post('/settings/email/cancel', {}, { from: '/settings' })).statusCode, 303);
    assert.equal((await stages(ctx)).length, 2);
  });

  test(`[${backend}] a second email change replaces the first: the first link dies and /settings shows only the newest`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    const [first, second] = [`first-${owner.email}`, `second-${owner.email}`];
    await askChange(owner, first);
    const firstToken = await confirmationTokenFor(ctx.app, first);
    await askChange(owner, second);
    const page = (await owner.get('/settings')).body;
    assert.match(page, new RegExp(`a link was sent to <strong>${second}</strong>`));
    assert.doesNotMatch(page, new RegExp(`<strong>${first}</strong>`));
    assert.equal((await confirmByLink(owner, firstToken)).headers.location, '/email/confirmed?result=invalid');
    assert.equal(
      (await confirmByLink(owner, await confirmationTokenFor(ctx.app, second))).headers.location,
      '/email/confirmed?result=changed',
    );
    assert.equal(await storedEmail(ctx, owner.username), second);
    assert.doesNotMatch((await owner.get('/settings')).body, /email change is waiting/, 'followed: no longer pending');
  });

  test(`[${backend}] a change asked through PUT /api/user shows on /settings; cancelling needs the form's CSRF token and touches only the signed-in account`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = await makeUser(ctx.app, ctx.runtime, 'pendingowner');
    const other = await memberBrowser(ctx.app, ctx.runtime);
    const moved = await api(ctx.app, 'PUT', '/api/user', {
      user: owner,
      body: { user: { email: 'pending@new.example', currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(moved.statusCode, 200);
    const browser = await loggedInBrowser(ctx.app, { email: owner.email, password: STRONG_PASSWORD, username: owner.username });
    assert.match((await browser.get('/settings')).body, /a link was sent to <strong>pending@new\.example<\/strong>/);

    assert.equal((await browser.post('/settings/email/cancel', {}, { csrf: false })).statusCode, 403, 'no token');
    assert.equal(
      (await browser.post('/settings/email/cancel', { _csrf: 'A'.repeat(43) }, { csrf: false })).statusCode,
      403,
      'a forged token',
    );
    // Another member's cancel (no field can name an account) leaves this change alone.
    assert.equal((await other.post('/settings/email/cancel', {}, { from: '/settings' })).statusCode, 303);
    assert.match((await browser.get('/settings')).body, /email change is waiting/);
    const anonymous = await ctx.app.inject({
      method: 'POST',
      url: '/settings/email/cancel',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    assert.ok(
      anonymous.statusCode === 403 || (anonymous.statusCode === 303 && String(anonymous.headers.location).startsWith('/login')),
      `${anonymous.statusCode} ${anonymous.headers.location}`,
    );
    // Asked through the API, confirmed from a page session of the same account (the link alone is not enough).
    assert.equal(
      (await confirmByLink(browser, await confirmationTokenFor(ctx.app, 'pending@new.example'))).headers.location,
      '/email/confirmed?result=changed',
    );
  });
}

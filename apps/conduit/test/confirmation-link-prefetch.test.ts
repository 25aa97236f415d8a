import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import {
  BACKENDS,
  confirmationTokenFor,
  confirmByLink,
  csrfFrom,
  memberBrowser,
  newBrowser,
  outboxMailsTo,
  type PageBrowser,
} from 'bastion/testing';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// A confirmation link is not spent by a GET (SPEC §2: a token in a URL leaves the address bar at
// once). Mail scanners and link previewers fetch links nobody clicked, and an email-change link
// mailed to a mistyped address sits in someone else's mailbox: opening it, or the page it lands
// on, must change nothing. Only the "Confirm" button (a CSRF-checked POST) does.

const userRow = (t: TestApp, username: string) =>
  t.runtime.db.kysely
    .selectFrom('users')
    .select(['id', 'email', 'email_confirmed_at'])
    .where('username', '=', username)
    .executeTakeFirstOrThrow();

/** Signs up through the form (no session comes of it) and returns the link's token from the outbox. */
async function signUp(app: FastifyInstance, browser: PageBrowser): Promise<string> {
  const res = await browser.post(
    '/register',
    { username: browser.username, email: browser.email, password: browser.password },
    { from: '/register' },
  );
  assert.equal(res.statusCode, 303);
  return confirmationTokenFor(app, browser.email);
}

/** What a scanner or previewer does with a link: GET it, and GET (HEAD too) where it redirects. */
async function prefetch(app: FastifyInstance, token: string): Promise<{ scanner: PageBrowser; landing: string }> {
  const scanner = newBrowser(app);
  const head = await app.inject({ method: 'HEAD', url: `/email/confirm/${token}` });
  assert.equal(head.statusCode, 303);
  const opened = await scanner.get(`/email/confirm/${token}`);
  assert.equal(opened.statusCode, 303);
  assert.equal(opened.headers.location, '/email/confirm', 'the token leaves the URL');
  assert.equal(opened.headers['referrer-policy'], 'no-referrer');
  const landing = await scanner.get('/email/confirm');
  assert.equal(landing.statusCode, 200);
  await app.inject({ method: 'HEAD', url: '/email/confirm', headers: { cookie: scanner.cookieHeader } });
  // A guessed result page is only words.
  assert.equal((await scanner.get('/email/confirmed?result=confirmed')).statusCode, 200);
  return { scanner, landing: landing.body };
}

for (const backend of BACKENDS) {
  test(`[${backend}] prefetching a sign-up link and the page it lands on confirms nothing; the owner's Confirm button does, once`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = newBrowser(ctx.app);
    const token = await signUp(ctx.app, owner);
    const { scanner, landing } = await prefetch(ctx.app, token);
    assert.match(landing, new RegExp(`Confirm ${owner.email}`), 'the page says what the button would confirm');
    assert.match(landing, /<form class="stack" method="post" action="\/email\/confirm">/);
    assert.equal((await userRow(ctx, owner.username)).email_confirmed_at, null, 'nothing changed');

    const opened = await owner.get(`/email/confirm/${token}`);
    const set = opened.cookies.find((c) => c.name === 'confirm');
    assert.ok(set, 'the token waits in a cookie');
    assert.equal(set.path, '/email/confirm', 'sent to the confirm page only');
    assert.equal(set.httpOnly, true);
    assert.equal(set.sameSite, 'Lax');
    assert.ok(set.maxAge !== undefined && set.maxAge <= 30 * 60, 'short-lived');
    assert.ok(!set.value.includes(token), 'encrypted: the cookie does not hold the token as such');
    const beforePress = owner.cookieHeader;
    const pressed = await owner.post('/email/confirm', {}, { from: '/email/confirm' });
    assert.deepEqual([pressed.statusCode, pressed.headers.location], [303, '/email/confirmed?result=confirmed']);
    assert.ok(
      pressed.cookies.some((c) => c.name === 'confirm' && c.value === ''),
      'the cookie is cleared',
    );
    assert.ok((await userRow(ctx, owner.username)).email_confirmed_at);

    // The spent token is dead wherever it waits: the scanner's cookie, and the owner's replayed one.
    assert.match((await scanner.get('/email/confirm')).body, /This link is not valid/);
    const replay = await ctx.app.inject({
      method: 'POST',
      url: '/email/confirm',
      headers: { cookie: beforePress, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(csrfFrom((await owner.get('/login')).body))}`,
    });
    assert.equal(replay.headers.location, '/email/confirmed?result=invalid');
  });

  test(`[${backend}] an email-change link opened from the new mailbox, and its page, leave the address as it was until the account's own session presses the button`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = await memberBrowser(ctx.app, ctx.runtime);
    const typo = `typo-${owner.email}`;
    const saved = await owner.post('/settings', {
      image: '',
      username: owner.username,
      bio: '',
      email: typo,
      currentPassword: owner.password,
    });
    assert.equal(saved.headers.location, '/settings?done=email-pending');
    const token = await confirmationTokenFor(ctx.app, typo);
    const { landing } = await prefetch(ctx.app, token);
    assert.match(landing, /Confirm your new email address/);
    assert.match(landing, new RegExp(`make <strong>${typo}</strong> the email address`));
    assert.equal((await userRow(ctx, owner.username)).email, owner.email, 'a prefetch moves nothing');
    const audit = await ctx.runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'email.change').execute();
    assert.deepEqual(
      audit.map((a) => JSON.parse(a.details).stage),
      ['requested'],
    );
    assert.equal((await outboxMailsTo(ctx.app, owner.email)).length, 1, 'only the "change requested" notice: no "changed" mail');

    // Whoever owns the mistyped mailbox cannot press Confirm: only the account's own session may.
    const stranger = newBrowser(ctx.app);
    const strangerPress = await confirmByLink(stranger, token);
    assert.equal(strangerPress.headers.location, '/email/confirm', 'nothing spent: back to the page');
    assert.match((await stranger.get('/email/confirm')).body, /sign in to that account/);
    const other = await memberBrowser(ctx.app, ctx.runtime);
    assert.equal((await confirmByLink(other, token)).headers.location, '/email/confirm', 'nor a session of another account');
    assert.equal((await userRow(ctx, owner.username)).email, owner.email, 'still the old address');

    assert.equal(
      (await confirmByLink(owner, token)).headers.location,
      '/email/confirmed?result=changed',
      'the link is still good for its owner',
    );
    assert.equal((await userRow(ctx, owner.username)).email, typo);
  });

  test(`[${backend}] the Confirm button is a CSRF-checked form: a forged press, without the form's token or from another site, confirms nothing`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = newBrowser(ctx.app);
    const token = await signUp(ctx.app, owner);
    await owner.get(`/email/confirm/${token}`);
    const noToken = await owner.post('/email/confirm', {}, { csrf: false });
    assert.equal(noToken.statusCode, 403);
    const forged = await owner.post('/email/confirm', { _csrf: 'A'.repeat(43) }, { csrf: false });
    assert.equal(forged.statusCode, 403);
    const csrf = csrfFrom((await owner.get('/email/confirm')).body);
    const crossSite = await ctx.app.inject({
      method: 'POST',
      url: '/email/confirm',
      headers: {
        cookie: owner.cookieHeader,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    assert.equal(crossSite.statusCode, 403);
    assert.equal((await userRow(ctx, owner.username)).email_confirmed_at, null);
    assert.equal(
      (await owner.post('/email/confirm', {}, { from: '/email/confirm' })).headers.location,
      '/email/confirmed?result=confirmed',
      'the token stayed good for the owner',
    );
  });

  test(`[${backend}] no cookie, a tampered one, or a reset link's cookie under the confirm name gets the one "not valid" answer`, async (t) => {
    const ctx = await startTestApp(t, backend);
    const owner = newBrowser(ctx.app);
    const token = await signUp(ctx.app, owner);
    const sealed = (await owner.get(`/email/confirm/${token}`)).cookies.find((c) => c.name === 'confirm')!.value;
    // A member asks for a reset link: its token sits in the reset cookie, sealed under another key.
    const member = await memberBrowser(ctx.app, ctx.runtime);
    await member.post('/password/forgot', { email: member.email }, { from: '/password/forgot' });
    await ctx.app.passwordResets.settled();
    const resetLink = /\/password\/reset\/([\w-]{43})/.exec(String((await outboxMailsTo(ctx.app, member.email)).at(-1)?.text))?.[1];
    assert.ok(resetLink);
    const resetSealed = (await newBrowser(ctx.app).get(`/password/reset/${resetLink}`)).cookies.find((c) => c.name === 'reset')!.value;
    const flipped = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
    // A visitor with a good CSRF cookie and token of their own, so only the confirm cookie differs.
    const visitor = newBrowser(ctx.app);
    const csrf = csrfFrom((await visitor.get('/login')).body);
    for (const [what, cookie] of [
      ['none', ''],
      ['tampered', `confirm=${flipped}`],
      ['a reset cookie', `confirm=${resetSealed}`],
      ['over-long', `confirm=${'A'.repeat(4000)}`],
    ] as const) {
      const page = await ctx.app.inject({ method: 'GET', url: '/email/confirm', headers: cookie ? { cookie } : {} });
      assert.equal(page.statusCode, 200, what);
      assert.match(page.body, /This link is not valid/, what);
      const press = await ctx.app.inject({
        method: 'POST',
        url: '/email/confirm',
        headers: { cookie: [cookie, visitor.cookieHeader].filter(Boolean).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(csrf)}`,
      });
      assert.deepEqual([press.statusCode, press.headers.location], [303, '/email/confirmed?result=invalid'], what);
    }
    assert.equal((await userRow(ctx, owner.username)).email_confirmed_at, null);
  });
}

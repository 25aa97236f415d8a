import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ParsedMail } from 'mailparser';
import {
  type BackendName,
  BACKENDS,
  confirmByLink,
  linkToken,
  newBrowser,
  type PageBrowser,
  ACCOUNT_TOKEN_LIFETIME_MS,
} from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { pauseNextCall } from './helpers/pause-next-call.js';
import { createTestSmtpServer, type DeliveredMail, type TestSmtpServer } from './helpers/smtp-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Email confirmation on sign-up and the confirmed email change (SPEC §3 "account mail"), with
// the app's real templates sent over STARTTLS to a real SMTP server on loopback, read there and
// followed as the address's owner (or an attacker holding an old mail) would.

const FROM = 'Conduit <no-reply@conduit.example.com>';
const ORIGIN = 'https://conduit.example.com';

interface ConfirmTest extends TestApp {
  readonly smtp: TestSmtpServer;
  /** Moves the account tokens' clock. */
  tick(ms: number): void;
  /** Every delivered mail to `to` (after the queue settled). */
  mailsTo(to: string): Promise<DeliveredMail[]>;
}

async function confirmTest(t: TestContext, backend: BackendName, env: Record<string, string> = {}): Promise<ConfirmTest> {
  const smtp = await createTestSmtpServer();
  await smtp.start();
  t.after(() => smtp.close());
  let offset = 0;
  const testApp = await startTestApp(
    t,
    backend,
    { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_FROM: FROM, PUBLIC_ORIGIN: ORIGIN, ...env },
    {},
    {
      mailer: { tlsCa: smtp.ca, retry: { maxAttempts: 2 }, wait: async () => {} },
      now: () => Date.now() + offset,
    },
  );
  const mailsTo = async (to: string) => {
    await testApp.app.signUps.settled();
    return smtp.messages.filter((m) => m.rcptTo.includes(to));
  };
  return { ...testApp, smtp, tick: (ms) => void (offset += ms), mailsTo };
}

const tokenIn = (mail: DeliveredMail | undefined): string => {
  const token = mail ? linkToken(mail.parsed as ParsedMail) : null;
  assert.ok(token, 'the mail carries a confirmation link');
  return token;
};

/** Signs up through the form and waits for the work done after the answer (packages/bastion/src/accounts/sign-up.ts). */
async function signUp(ctx: TestApp, browser: PageBrowser, email = browser.email, username = browser.username) {
  const res = await browser.post('/register', { username, email, password: browser.password }, { from: '/register' });
  await ctx.app.signUps.settled();
  return res;
}

/** Opens a dead link: the page it lands on says so and offers no button; pressing one anyway (a forged POST with the session's token) confirms nothing. */
async function deadLink(browser: PageBrowser, token: string): Promise<string> {
  const opened = await browser.get(`/email/confirm/${token}`);
  assert.deepEqual([opened.statusCode, opened.headers.location], [303, '/email/confirm'], 'every token gets the same redirect');
  const page = await browser.get('/email/confirm');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /This link is not valid/);
  assert.doesNotMatch(page.body, /action="\/email\/confirm"/, 'no Confirm button');
  return String((await browser.post('/email/confirm', {}, { from: '/email/confirm' })).headers.location);
}

const signIn = (browser: PageBrowser, email = browser.email) =>
  browser.post('/login', { email, password: browser.password }, { from: '/login' });

async function publish(browser: PageBrowser, title: string) {
  return browser.post('/editor', { title, description: 'about it', body: 'Some *words*.', tagList: '' });
}

const userRow = (t: TestApp, username: string) =>
  t.runtime.db.kysely.selectFrom('users').select(['id', 'email', 'email_confirmed_at']).where('username', '=', username).executeTakeFirst();

for (const backend of BACKENDS) {
  test(`[${backend}] sign-up mails a link over STARTTLS; until it is followed the account may sign in and read but gets 403 with a message when it writes; afterwards it writes`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const { app } = ctx;
    const alice = newBrowser(app);
    const res = await signUp(ctx, alice);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/register/check-email');
    assert.ok(!res.cookies.some((c) => c.name.includes('session') && c.value !== ''), 'registration signs nobody in');
    const check = await alice.get('/register/check-email');
    assert.equal(check.statusCode, 200);
    assert.match(check.body, /Check your email/);
    assert.doesNotMatch(check.body, new RegExp(`href="/profile/${alice.username}"`), 'not signed in');

    const [mail] = await ctx.mailsTo(alice.email);
    assert.ok(mail, 'the confirmation mail arrived');
    assert.equal(mail.secure, true, 'over STARTTLS');
    assert.equal(mail.parsed.subject, 'Confirm your email address for Conduit');
    const token = tokenIn(mail);
    assert.ok(String(mail.parsed.html).includes(`href="${ORIGIN}/email/confirm/${token}"`));
    assert.equal((await userRow(ctx, alice.username))?.email_confirmed_at, null, 'the account exists, unconfirmed');

    // Unconfirmed: signs in, reads, is refused when writing on the pages.
    assert.equal((await signIn(alice)).statusCode, 303);
    const home = await alice.get('/');
    assert.match(home.body, new RegExp(`href="/profile/${alice.username}"`));
    const editor = await alice.get('/editor');
    assert.equal(editor.statusCode, 200);
    assert.match(editor.body, /Confirm your email address to publish/);
    const refused = await publish(alice, 'Too early');
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /must be confirmed before you can write articles and comments/);
    assert.match(refused.body, /Some \*words\*\./, 'the draft is kept');
    const count = await conduitDb(ctx.runtime.db)
      .selectFrom('articles')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0);
    const settings = await alice.get('/settings');
    assert.match(settings.body, /not confirmed yet/);

    // The link: a token-free page with a button, and no Referer; the button spends the token.
    const opened = await alice.get(`/email/confirm/${token}`);
    assert.equal(opened.statusCode, 303);
    assert.equal(opened.headers.location, '/email/confirm');
    assert.equal(opened.headers['referrer-policy'], 'no-referrer');
    const asked = await alice.get('/email/confirm');
    assert.equal(asked.statusCode, 200);
    assert.match(asked.body, new RegExp(`Confirm ${alice.email}`));
    assert.equal((await userRow(ctx, alice.username))?.email_confirmed_at, null, 'opening the link confirms nothing');
    const confirm = await alice.post('/email/confirm', {}, { from: '/email/confirm' });
    assert.equal(confirm.statusCode, 303);
    assert.equal(confirm.headers.location, '/email/confirmed?result=confirmed');
    const landed = await alice.get('/email/confirmed?result=confirmed');
    assert.equal(landed.statusCode, 200);
    assert.match(landed.body, /Your email address is confirmed/);
    assert.ok((await userRow(ctx, alice.username))?.email_confirmed_at);

    const published = await publish(alice, 'Now it counts');
    assert.equal(published.statusCode, 303);
    assert.match(String(published.headers.location), /^\/article\//);
    const comment = await alice.post(
      `${published.headers.location}/comments`,
      { body: 'And a comment.' },
      { from: String(published.headers.location) },
    );
    assert.equal(comment.statusCode, 303);
    await app.mailer.settled();
    assert.ok(!ctx.logs().includes(token), "the link's token never reaches the log (the request URL is redacted)");
    assert.match(ctx.logs(), /\/email\/confirm\/\[REDACTED\]/);
  });

  test(`[${backend}] an unconfirmed account's comment on the pages is refused with 403 and a message, not stored`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const author = await makeUser(ctx.app, ctx.runtime, `auth${Date.now() % 100000}`);
    const posted = await api(ctx.app, 'POST', '/api/articles', {
      user: author,
      body: { article: { title: 'Open', description: 'd', body: 'b' } },
    });
    assert.equal(posted.statusCode, 201);
    const slug = posted.json<{ article: { slug: string } }>().article.slug;
    const bob = newBrowser(ctx.app);
    await signUp(ctx, bob);
    assert.equal((await signIn(bob)).statusCode, 303);
    const article = await bob.get(`/article/${slug}`);
    assert.equal(article.statusCode, 200, 'an unconfirmed account reads');
    const res = await bob.post(`/article/${slug}/comments`, { body: 'first!' }, { from: `/article/${slug}` });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /Confirm your email address before you comment/);
    const comments = await conduitDb(ctx.runtime.db).selectFrom('comments').selectAll().execute();
    assert.equal(comments.length, 0);
  });

  test(`[${backend}] the sign-up answer waits for nothing that depends on the address: not the account, its link, or the owner's mail`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const owner = await makeUser(ctx.app, ctx.runtime, `own${Date.now() % 100000}`);
    // What only a free address costs (the account's confirmation token) and what only a taken one
    // costs (the owner's mail limit) are both held: the answers still come, the same.
    const issue = pauseNextCall(t, ctx.app.accountTokens, 'issue');
    const ownerMail = pauseNextCall(t, ctx.app, 'addressTakenMailAllowed');
    const fresh = newBrowser(ctx.app);
    const attacker = newBrowser(ctx.app);
    const answers = [
      await fresh.post('/register', { username: fresh.username, email: fresh.email, password: fresh.password }, { from: '/register' }),
      await attacker.post(
        '/register',
        { username: attacker.username, email: owner.email, password: attacker.password },
        { from: '/register' },
      ),
    ];
    await Promise.all([issue.started, ownerMail.started]);
    assert.deepEqual(
      answers.map((r) => [r.statusCode, r.headers.location]),
      [
        [303, '/register/check-email'],
        [303, '/register/check-email'],
      ],
      'both answered while their differing work was held',
    );
    assert.equal(ctx.smtp.messages.length, 0);
    issue.release();
    ownerMail.release();
    assert.equal((await ctx.mailsTo(fresh.email)).length, 1, 'the confirmation link, once released');
    assert.equal((await ctx.mailsTo(owner.email)).length, 1, "the owner's notice, once released");
  });

  test(`[${backend}] a sign-up with a taken address answers exactly as a fresh one, creates nothing, signs nobody in, and mails the owner instead (3 a day at most)`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const owner = await makeUser(ctx.app, ctx.runtime, `own${Date.now() % 100000}`);
    const fresh = newBrowser(ctx.app);
    const attacker = newBrowser(ctx.app);
    const a = await signUp(ctx, fresh);
    const b = await signUp(ctx, attacker, owner.email.toUpperCase());
    const shape = (r: typeof a) => ({
      status: r.statusCode,
      location: r.headers.location,
      cookies: r.cookies.map((c) => c.name).sort(),
      body: r.body,
    });
    assert.deepEqual(shape(b), shape(a), 'status, location, cookies and body are the same');
    const pageA = await fresh.get('/register/check-email');
    const pageB = await attacker.get('/register/check-email');
    assert.equal(pageB.statusCode, pageA.statusCode);
    assert.equal(pageB.body.replace(/name="_csrf" value="[^"]+"/g, ''), pageA.body.replace(/name="_csrf" value="[^"]+"/g, ''));
    assert.doesNotMatch((await attacker.get('/')).body, /href="\/settings"/, 'no session for the attacker');
    assert.equal(await userRow(ctx, attacker.username), undefined, 'no account was created');
    const ownerMails = await ctx.mailsTo(owner.email);
    assert.equal(ownerMails.length, 1);
    assert.equal(ownerMails[0]?.parsed.subject, 'Someone tried to sign up to Conduit with your address');
    assert.match(String(ownerMails[0]?.parsed.text), /sign in at https:\/\/conduit\.example\.com\/login, or reset your password/);
    assert.equal(linkToken(ownerMails[0]!.parsed as ParsedMail), null, 'no confirmation link goes to the owner');
    // More attempts from other client addresses: the same answer, but the owner's inbox gets at most 3 a day.
    for (let i = 0; i < 3; i++) {
      const again = await signUp(ctx, newBrowser(ctx.app), owner.email);
      assert.deepEqual([again.statusCode, again.headers.location], [303, '/register/check-email']);
    }
    assert.equal((await ctx.mailsTo(owner.email)).length, 3, 'the "someone tried" mail is limited per address');
    // The attacker still learns nothing by signing in with the password they chose.
    assert.equal((await signIn(attacker, owner.email)).statusCode, 422);
    // A taken username is still answered (usernames are public).
    const sameName = await signUp(ctx, newBrowser(ctx.app), `x${Date.now()}@example.com`, owner.username);
    assert.equal(sameName.statusCode, 422);
    assert.match(sameName.body, /username has already been taken/);
  });

  test(`[${backend}] a confirmation link works once, expires after 24 hours, and a token of another purpose or a malformed one gets the same single message`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const [carol, dave] = [newBrowser(ctx.app), newBrowser(ctx.app)];
    await signUp(ctx, carol);
    await signUp(ctx, dave);
    const carolToken = tokenIn((await ctx.mailsTo(carol.email))[0]);
    const daveToken = tokenIn((await ctx.mailsTo(dave.email))[0]);
    assert.equal((await confirmByLink(carol, carolToken)).headers.location, '/email/confirmed?result=confirmed');
    assert.equal(await deadLink(carol, carolToken), '/email/confirmed?result=invalid', 'a used link');
    ctx.tick(ACCOUNT_TOKEN_LIFETIME_MS.confirm + 1000);
    assert.equal(await deadLink(dave, daveToken), '/email/confirmed?result=invalid', 'an expired link');
    assert.equal((await userRow(ctx, dave.username))?.email_confirmed_at, null);
    const daveRow = await userRow(ctx, dave.username);
    const reset = await ctx.app.accountTokens.issue(daveRow!.id, 'reset', dave.email);
    assert.equal(await deadLink(dave, reset), '/email/confirmed?result=invalid', 'a reset token');
    assert.equal(await deadLink(dave, 'A'.repeat(43)), '/email/confirmed?result=invalid', 'a guessed token');
    assert.equal(await deadLink(dave, 'x'.repeat(256)), '/email/confirmed?result=invalid', 'a malformed token');
    assert.equal((await dave.get(`/email/confirm/${'x'.repeat(257)}`)).statusCode, 400, 'an over-long one is a 4xx');
    const invalid = await dave.get('/email/confirmed?result=invalid');
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body, /This link is not valid/);
    assert.equal((await userRow(ctx, dave.username))?.email_confirmed_at, null);
    // A new link, limited per account.
    assert.equal((await signIn(dave)).statusCode, 303);
    for (let i = 0; i < 3; i++)
      assert.equal((await dave.post('/email/confirm/resend', {}, { from: '/settings' })).headers.location, '/settings?done=resent');
    assert.equal((await dave.post('/email/confirm/resend', {}, { from: '/settings' })).statusCode, 429);
    const daveMails = await ctx.mailsTo(dave.email);
    assert.equal(daveMails.length, 4, 'sign-up and three resends');
    assert.equal((await confirmByLink(dave, tokenIn(daveMails.at(-1)))).headers.location, '/email/confirmed?result=confirmed');
  });

  test(`[${backend}] an email change on /settings mails the new address a link and the old one a notice without one; only the link changes the stored address`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const eve = newBrowser(ctx.app);
    await signUp(ctx, eve);
    await confirmByLink(eve, tokenIn((await ctx.mailsTo(eve.email))[0]));
    await signIn(eve);
    const newEmail = `new-${eve.email}`;
    const saved = await eve.post('/settings', {
      image: '',
      username: eve.username,
      bio: '',
      email: newEmail,
      currentPassword: eve.password,
    });
    assert.equal(saved.statusCode, 303);
    assert.equal(saved.headers.location, '/settings?done=email-pending');
    assert.equal((await userRow(ctx, eve.username))?.email, eve.email, 'not changed yet');
    const [toNew] = await ctx.mailsTo(newEmail);
    const oldMails = await ctx.mailsTo(eve.email);
    const notice = oldMails.at(-1);
    assert.equal(notice?.parsed.subject, 'A change of your Conduit email address was requested');
    assert.doesNotMatch(String(notice?.parsed.text), /\/email\/confirm\//, 'the old address gets no link');
    assert.doesNotMatch(String(notice?.parsed.html), /<a\b/, 'the notice has no link at all');
    assert.doesNotMatch(String(notice?.parsed.text), new RegExp(newEmail), 'the new address is masked');
    const changeToken = tokenIn(toNew);
    const done = await confirmByLink(eve, changeToken);
    assert.equal(done.headers.location, '/email/confirmed?result=changed');
    assert.equal((await userRow(ctx, eve.username))?.email, newEmail);
    const completed = (await ctx.mailsTo(eve.email)).at(-1);
    assert.equal(completed?.parsed.subject, 'Your Conduit email address was changed');
    const audit = await ctx.runtime.db.kysely.selectFrom('audit_log').select(['details']).where('event', '=', 'email.change').execute();
    assert.deepEqual(audit.map((a) => JSON.parse(a.details).stage).sort(), ['completed', 'requested']);
    assert.equal(await deadLink(eve, changeToken), '/email/confirmed?result=invalid', 'once only');
    assert.equal((await signIn(eve, newEmail)).statusCode, 303, 'the new address signs in');
  });

  test(`[${backend}] an email-change link mailed before a password change is dead after it`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const user = await makeUser(ctx.app, ctx.runtime, `pw${Date.now() % 100000}`);
    const change = await api(ctx.app, 'PUT', '/api/user', {
      user,
      body: { user: { email: `moved-${user.email}`, currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(change.statusCode, 200);
    assert.equal(
      change.json<{ user: { email: string } }>().user.email,
      user.email,
      'the API answers with the old address until the link is followed',
    );
    const token = tokenIn((await ctx.mailsTo(`moved-${user.email}`))[0]);
    const pw = await api(ctx.app, 'PUT', '/api/user', {
      user,
      body: { user: { password: `${STRONG_PASSWORD}-and-more`, currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(pw.statusCode, 200);
    assert.equal(await deadLink(newBrowser(ctx.app), token), '/email/confirmed?result=invalid');
    assert.equal((await userRow(ctx, user.username))?.email, user.email);
  });

  test(`[${backend}] CR/LF in an email field is refused with a 4xx and nothing is mailed (sign-up, /settings, PUT /api/user)`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const injected = [
      'victim@example.com\r\nBcc: attacker@evil.example',
      'victim@example.com\nBcc: attacker@evil.example',
      'victim@example.com\rBcc: attacker@evil.example',
    ];
    for (const email of injected) {
      const res = await signUp(ctx, newBrowser(ctx.app), email);
      assert.equal(res.statusCode, 422, JSON.stringify(email));
    }
    const user = await makeUser(ctx.app, ctx.runtime, `crlf${Date.now() % 100000}`);
    for (const email of injected.slice(0, 2)) {
      const res = await api(ctx.app, 'PUT', '/api/user', { user, body: { user: { email, currentPassword: STRONG_PASSWORD } } });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode}`);
    }
    const page = newBrowser(ctx.app, { username: user.username });
    await page.post('/login', { email: user.email, password: STRONG_PASSWORD }, { from: '/login' });
    const res = await page.post('/settings', {
      image: '',
      username: user.username,
      bio: '',
      email: injected[0]!,
      currentPassword: STRONG_PASSWORD,
    });
    assert.equal(res.statusCode, 422);
    await ctx.app.mailer.settled();
    assert.equal(ctx.smtp.messages.length, 0, 'nothing was sent to anyone');
    assert.equal(await ctx.runtime.db.kysely.selectFrom('account_tokens').selectAll().executeTakeFirst(), undefined, 'no link was issued');
  });

  test(`[${backend}] the RealWorld API keeps its spec: 422 "has already been taken" for a used address, and a new account writes at once by default`, async (t) => {
    const ctx = await confirmTest(t, backend);
    const body = (username: string, email: string) => ({ user: { username, email, password: STRONG_PASSWORD } });
    const first = await api(ctx.app, 'POST', '/api/users', { body: body('apiuser1', 'api1@example.com') });
    assert.equal(first.statusCode, 201);
    const dup = await api(ctx.app, 'POST', '/api/users', { body: body('apiuser2', 'API1@example.com') });
    assert.equal(dup.statusCode, 422);
    assert.deepEqual(dup.json<{ errors: unknown }>().errors, { email: ['has already been taken'] });
    const token = first.json<{ user: { token: string } }>().user.token;
    const post = await ctx.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: { authorization: `Token ${token}`, 'content-type': 'application/json' },
      payload: { article: { title: 'API', description: 'd', body: 'b' } },
    });
    assert.equal(post.statusCode, 201, 'ACCOUNT_CONFIRMATION=html leaves the API as RealWorld has it');
    assert.ok(tokenIn((await ctx.mailsTo('api1@example.com'))[0]), 'the API account is mailed a link all the same');
  });

  test(`[${backend}] ACCOUNT_CONFIRMATION=all: the API refuses articles and comments from an unconfirmed account with 403 and a message, until the link is followed`, async (t) => {
    const ctx = await confirmTest(t, backend, { ACCOUNT_CONFIRMATION: 'all' });
    const reg = await api(ctx.app, 'POST', '/api/users', {
      body: { user: { username: 'strict1', email: 'strict1@example.com', password: STRONG_PASSWORD } },
    });
    assert.equal(reg.statusCode, 201);
    const headers = { authorization: `Token ${reg.json<{ user: { token: string } }>().user.token}`, 'content-type': 'application/json' };
    const post = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/articles',
        headers,
        payload: { article: { title: 'Strict', description: 'd', body: 'b' } },
      });
    const refused = await post();
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /must be confirmed before you can write/);
    const author = await makeUser(ctx.app, ctx.runtime, `strictauthor${Date.now() % 1000}`);
    const slug = (
      await api(ctx.app, 'POST', '/api/articles', { user: author, body: { article: { title: 'Theirs', description: 'd', body: 'b' } } })
    ).json<{ article: { slug: string } }>().article.slug;
    const comment = await ctx.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers,
      payload: { comment: { body: 'hi' } },
    });
    assert.equal(comment.statusCode, 403);
    await confirmByLink(newBrowser(ctx.app), tokenIn((await ctx.mailsTo('strict1@example.com'))[0]));
    assert.equal((await post()).statusCode, 201);
  });
}

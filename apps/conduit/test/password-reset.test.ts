import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { MailerOverrides } from 'bastion';
import {
  type BackendName,
  BACKENDS,
  loggedInBrowser,
  memberBrowser,
  newBrowser,
  type PageBrowser,
  type TestResponse,
} from 'bastion/testing';
import { api } from './helpers/conduit-api.js';
import { pauseNextCall } from './helpers/pause-next-call.js';
import { createTestSmtpServer, type DeliveredMail, type TestSmtpServer } from './helpers/smtp-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Password reset (SPEC §3, account mail) end to end: the app mails a real SMTP server on
// loopback over STARTTLS with a login; the test reads the delivered mail, follows its link as
// a browser would, and attacks each step: a reused, expired, foreign or malformed token, an
// address probe, a flood, a header injection, a dead mail server.

const ORIGIN = 'https://conduit.example.com';
const NEW_PASSWORD = 'a brand new sentence for 2027';
const LOGIN = { user: 'mailer', pass: `pw-${randomBytes(12).toString('hex')}` };
const LINK = /https:\/\/conduit\.example\.com\/password\/reset\/([\w-]{43})/g;
const INVALID = 'This link is invalid or has expired.';

interface ResetTest extends TestApp {
  readonly smtp: TestSmtpServer;
  readonly clock: { ms: number };
}

async function resetTest(
  t: TestContext,
  backend: BackendName,
  options: { started?: boolean; mailer?: MailerOverrides } = {},
): Promise<ResetTest> {
  const smtp = await createTestSmtpServer({ login: LOGIN });
  if (options.started !== false) await smtp.start();
  t.after(() => smtp.close());
  const clock = { ms: Date.now() };
  const env = {
    SMTP_URL: `smtp://${LOGIN.user}:${LOGIN.pass}@127.0.0.1:${smtp.port}`,
    MAIL_FROM: 'Conduit <no-reply@conduit.example.com>',
    PUBLIC_ORIGIN: ORIGIN,
  };
  const mailer: MailerOverrides = { tlsCa: smtp.ca, retry: { maxAttempts: 2 }, wait: async () => {}, ...options.mailer };
  const testApp = await startTestApp(t, backend, env, {}, { mailer, now: () => clock.ms });
  return { ...testApp, smtp, clock };
}

/** The page with its CSRF token (fresh in every response) taken out, to compare two answers. */
const comparable = (res: TestResponse): string => res.body.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf"');

async function forgot(browser: PageBrowser, email: string): Promise<TestResponse> {
  return browser.post('/password/forgot', { email }, { from: '/password/forgot' });
}

const tokenOf = (mail: DeliveredMail): string => {
  const links = [...String(mail.parsed.text).matchAll(LINK)];
  assert.equal(links.length, 1, 'one reset link in the text part');
  return links[0]![1]!;
};

const isSignedIn = async (browser: PageBrowser, username: string): Promise<boolean> =>
  (await browser.get('/settings')).statusCode === 200 && (await browser.get('/')).body.includes(`href="/profile/${username}"`);

for (const backend of BACKENDS) {
  test(`[${backend}] forgot → mail over STARTTLS → link → token-free page → new password: signed in, old sessions and API tokens dead, told by mail, audited without the token`, async (t) => {
    const { app, runtime, smtp, logs } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const thief = await loggedInBrowser(app, owner);
    const apiToken = (
      await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })
    ).json().user.token as string;

    const visitor = newBrowser(app);
    const login = await visitor.get('/login');
    assert.match(login.body, /<a href="\/password\/forgot">Forgot password\?<\/a>/, 'the login page links to the reset');
    const asked = await forgot(visitor, owner.email.toUpperCase());
    assert.equal(asked.statusCode, 200);
    assert.match(asked.body, /If an account uses that address, a link to choose a new password is on its way/);

    const [mail] = await smtp.waitForMessages(1);
    assert.ok(mail);
    assert.equal(mail.secure, true, 'delivered inside TLS (STARTTLS)');
    assert.deepEqual(mail.rcptTo, [owner.email]);
    assert.equal(mail.parsed.subject, 'Choose a new password for Conduit');
    const token = tokenOf(mail);
    assert.equal(String(mail.parsed.text).split(token).length - 1, 1, 'the token appears in the text only inside the link');
    const html = String(mail.parsed.html);
    assert.equal(html.split(token).length - 1, 1, 'and once in the HTML');
    assert.ok(html.includes(`href="${ORIGIN}/password/reset/${token}"`), 'that once is the link');

    const opened = await visitor.get(`/password/reset/${token}`);
    assert.equal(opened.statusCode, 303);
    assert.equal(opened.headers.location, '/password/reset', 'redirected to a page whose URL holds no token');
    assert.equal(opened.headers['referrer-policy'], 'no-referrer');
    const held = opened.cookies.find((c) => c.name === 'reset');
    assert.ok(held, 'the token is held in a cookie');
    assert.ok(!held.value.includes(token), 'encrypted, not the token itself');
    assert.equal(held.path, '/password/reset');
    assert.equal(held.httpOnly, true);

    const form = await visitor.get('/password/reset');
    assert.equal(form.statusCode, 200);
    assert.ok(!form.body.includes(token), 'the page does not show the token');
    assert.match(form.body, /<form class="stack" method="post" action="\/password\/reset">/);

    const done = await visitor.post('/password/reset', { password: NEW_PASSWORD }, { from: '/password/reset' });
    assert.equal(done.statusCode, 303, done.body);
    assert.equal(done.headers.location, '/');
    assert.ok(await isSignedIn(visitor, owner.username), 'the browser that reset is signed in on a fresh session');

    assert.equal(await isSignedIn(owner, owner.username), false, "the owner's old session is dead");
    assert.equal(await isSignedIn(thief, owner.username), false, 'so is every other session');
    assert.equal(
      (await app.inject({ url: '/api/user', headers: { authorization: `Token ${apiToken}` } })).statusCode,
      401,
      'and every API token',
    );
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).statusCode,
      401,
      'the old password is gone',
    );
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } })).statusCode,
      200,
    );

    const [, changed] = await smtp.waitForMessages(2);
    assert.ok(changed);
    assert.deepEqual(changed.rcptTo, [owner.email]);
    assert.equal(changed.parsed.subject, 'Your Conduit password was changed');
    assert.doesNotMatch(String(changed.parsed.text), /https?:\/\//, 'the notice carries no link an attacker could use');

    const again = await newBrowser(app).get(`/password/reset/${token}`);
    assert.equal(again.statusCode, 303, 'a used link answers as any other');
    const replay = newBrowser(app);
    await replay.get(`/password/reset/${token}`);
    assert.ok((await replay.get('/password/reset')).body.includes(INVALID), 'a used token is refused');

    await app.passwordResets.settled();
    const rows = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'actor_id', 'details'])
      .where('event', 'like', 'password.reset.%')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => r.event),
      ['password.reset.request', 'password.reset.complete'],
    );
    assert.match(rows[0]!.details, /"outcome":"queued"/);
    assert.ok(
      rows.every((r) => !r.details.includes(token)),
      'no audit row holds the token',
    );
    assert.ok(!logs().includes(token), 'no log line holds the token');
  });

  test(`[${backend}] an unknown address gets the same page and status as a known one, and no mail`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const known = await forgot(newBrowser(app), owner.email);
    const unknown = await forgot(newBrowser(app), `nobody-${randomBytes(4).toString('hex')}@example.com`);
    assert.equal(unknown.statusCode, known.statusCode);
    assert.equal(comparable(unknown), comparable(known));
    assert.deepEqual(
      Object.keys(unknown.headers).sort(),
      Object.keys(known.headers).sort(),
      'the same headers (no cookie set for one only)',
    );
    await app.passwordResets.settled();
    assert.equal(smtp.messages.length, 1, 'only the known address got mail');
    assert.deepEqual(smtp.messages[0]!.rcptTo, [owner.email]);
    const outcomes = await runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'password.reset.request')
      .orderBy('id')
      .execute();
    // Both requests are worked on after their answers, so their audit rows may land in either order.
    assert.deepEqual(outcomes.map((r) => (JSON.parse(r.details) as { outcome: string }).outcome).sort(), ['queued', 'unknown']);
  });

  test(`[${backend}] the answer does not wait for the work that differs between known and unknown addresses`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    // Issuing the token is what only a known address costs: hold it, and the page still comes.
    const issue = pauseNextCall(t, app.accountTokens, 'issue');
    const res = await forgot(newBrowser(app), owner.email);
    assert.equal(res.statusCode, 200);
    await issue.started;
    assert.equal(smtp.messages.length, 0, 'answered while the token was not even issued');
    issue.release();
    await app.passwordResets.settled();
    await smtp.waitForMessages(1);
  });

  test(`[${backend}] two requests racing with one reset token: one sets the password, the other is refused`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    await forgot(newBrowser(app), owner.email);
    const token = tokenOf((await smtp.waitForMessages(1))[0]!);
    const visitor = newBrowser(app);
    await visitor.get(`/password/reset/${token}`);
    // Both requests leave with the same cookies and form token, as two tabs (or a thief's copy) would.
    const _csrf = await visitor.csrf('/password/reset');
    const cookie = visitor.cookieHeader;
    const race = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/password/reset',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ password, _csrf }).toString(),
      });
    const statuses = (await Promise.all([race('first racer picks this 2027'), race('second racer picks this 2027')])).map(
      (r) => r.statusCode,
    );
    assert.deepEqual(statuses.sort(), [303, 400]);
    const oneWorks = await Promise.all(
      ['first racer picks this 2027', 'second racer picks this 2027'].map(
        async (password) => (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password } } })).statusCode,
      ),
    );
    assert.deepEqual(oneWorks.sort(), [200, 401], 'exactly one of the two passwords was set');
  });

  test(`[${backend}] an expired, foreign-purpose, malformed or made-up token gets one and the same answer`, async (t) => {
    const { app, runtime, smtp, clock } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const id = (await runtime.db.kysely.selectFrom('users').select('id').where('email', '=', owner.email).executeTakeFirstOrThrow()).id;
    await forgot(newBrowser(app), owner.email);
    const expiring = tokenOf((await smtp.waitForMessages(1))[0]!);
    const confirm = await app.accountTokens.issue(id, 'confirm', owner.email);
    clock.ms += 31 * 60_000;

    const answers: string[] = [];
    for (const token of [expiring, confirm, 'not-a-token', randomBytes(32).toString('base64url'), `${confirm}x`]) {
      const browser = newBrowser(app);
      const opened = await browser.get(`/password/reset/${encodeURIComponent(token)}`);
      assert.equal(opened.statusCode, 303);
      assert.equal(opened.headers.location, '/password/reset');
      const page = await browser.get('/password/reset');
      assert.equal(page.statusCode, 200);
      assert.ok(page.body.includes(INVALID));
      assert.doesNotMatch(page.body, /action="\/password\/reset"/, 'no form');
      answers.push(comparable(page));
      const post = await browser.post('/password/reset', { password: NEW_PASSWORD }, { from: '/password/forgot' });
      assert.equal(post.statusCode, 400, 'setting a password without a live token is refused');
    }
    assert.equal(new Set(answers).size, 1, 'every case reads the same');
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).statusCode,
      200,
      'the password never changed',
    );
  });

  test(`[${backend}] a reset link is dead after a password change made another way`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    await forgot(newBrowser(app), owner.email);
    const token = tokenOf((await smtp.waitForMessages(1))[0]!);
    const changed = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: NEW_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(changed.statusCode, 303);
    const attacker = newBrowser(app);
    await attacker.get(`/password/reset/${token}`);
    assert.ok((await attacker.get('/password/reset')).body.includes(INVALID));
  });

  test(`[${backend}] a password changed from /settings or PUT /api/user is told to the address by mail, with no link`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const changed = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: NEW_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(changed.statusCode, 303);
    const token = (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } })).json()
      .user.token as string;
    const viaApi = await app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Token ${token}`, 'content-type': 'application/json' },
      payload: { user: { password: 'yet another sentence for 2028', currentPassword: NEW_PASSWORD } },
    });
    assert.equal(viaApi.statusCode, 200, viaApi.body);
    const notices = await smtp.waitForMessages(2);
    for (const notice of notices) {
      assert.deepEqual(notice.rcptTo, [owner.email]);
      assert.equal(notice.parsed.subject, 'Your Conduit password was changed');
      assert.match(String(notice.parsed.text), /was changed at .* \(UTC\) from the account itself/);
      assert.doesNotMatch(`${String(notice.parsed.text)}${String(notice.parsed.html)}`, /https?:\/\/|href=/, 'no link');
    }
  });

  test(`[${backend}] a weak new password is refused without spending the token; the token then works once, and a second request's link dies with it`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    await forgot(newBrowser(app), owner.email);
    await forgot(newBrowser(app), owner.email);
    const [first, second] = await smtp.waitForMessages(2);
    const visitor = newBrowser(app);
    await visitor.get(`/password/reset/${tokenOf(first!)}`);
    const weak = await visitor.post('/password/reset', { password: 'passwordpassword' }, { from: '/password/reset' });
    assert.equal(weak.statusCode, 422);
    assert.match(weak.body, /<ul class="errors"/);
    const ok = await visitor.post('/password/reset', { password: NEW_PASSWORD }, { from: '/password/reset' });
    assert.equal(ok.statusCode, 303);
    const other = newBrowser(app);
    await other.get(`/password/reset/${tokenOf(second!)}`);
    assert.ok((await other.get('/password/reset')).body.includes(INVALID), 'the other reset link is void');
  });

  test(`[${backend}] per address: past 5 an hour the page answers as usual and sends nothing; per IP: past 20 an hour 429`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const answers: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await forgot(newBrowser(app), owner.email);
      assert.equal(res.statusCode, 200);
      answers.push(comparable(res));
    }
    assert.equal(new Set(answers).size, 1, 'the limited answers read like the others');
    await app.passwordResets.settled();
    assert.equal(smtp.messages.length, 5, 'five mails for the address, no more');

    const flooder = newBrowser(app);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await forgot(flooder, `probe${i}@example.com`)).statusCode);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(200));
    assert.equal(statuses[20], 429);
  });

  test(`[${backend}] CR/LF or another control character in the email field is refused with a 4xx and nothing is queued`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    for (const email of [
      `${owner.email}\r\nBcc: attacker@evil.example`,
      `${owner.email}\nBcc: attacker@evil.example`,
      `${owner.email}\u0000`,
      `\t${owner.email}`,
    ]) {
      const res = await forgot(newBrowser(app), email);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(email)} answered ${res.statusCode}`);
    }
    await app.passwordResets.settled();
    assert.equal(app.mailer.pending, 0);
    assert.equal(smtp.messages.length, 0);
    assert.equal(smtp.connections(), 0, 'the mail server was never even contacted');
    const rows = await runtime.db.kysely.selectFrom('audit_log').select('event').where('event', '=', 'password.reset.request').execute();
    assert.equal(rows.length, 0);
  });

  test(`[${backend}] with the mail server down the page answers at once; the mail waits in the queue and is retried`, async (t) => {
    let release: () => void = () => {};
    const retried = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waits: number[] = [];
    const { app, runtime, smtp } = await resetTest(t, backend, {
      started: false,
      mailer: {
        wait: async (ms) => {
          waits.push(ms);
          await retried;
        },
      },
    });
    const owner = await memberBrowser(app, runtime);
    const res = await forgot(newBrowser(app), owner.email);
    assert.equal(res.statusCode, 200, 'answered while the server is down');
    assert.match(res.body, /a link to choose a new password is on its way/);
    // The request finished before the mail could go: the mail is still waiting to be retried.
    while (waits.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(app.mailer.pending, 1);
    await smtp.start();
    release();
    await smtp.waitForMessages(1);
    assert.deepEqual(smtp.messages[0]!.rcptTo, [owner.email]);
  });

  test(`[${backend}] a locked account gets no reset mail`, async (t) => {
    const { app, runtime, smtp } = await resetTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('email', '=', owner.email).execute();
    assert.equal((await forgot(newBrowser(app), owner.email)).statusCode, 200);
    await app.passwordResets.settled();
    assert.equal(smtp.messages.length, 0);
  });
}

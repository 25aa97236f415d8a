import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from 'bastion';
import { Secret } from 'otpauth';
import {
  type BackendName,
  BACKENDS,
  loggedInBrowser,
  memberBrowser,
  newBrowser,
  outboxMailsTo,
  type PageBrowser,
  randomKey,
  type TestResponse,
  codeAt,
  deriveEncryptionKeys,
  LOGIN_RULES,
  newTotpSecret,
  sealedBox,
} from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// The second factor (SPEC §3 "second factor") attacked through both faces: a wrong first code,
// a password without its code, a replayed code, a code from two steps away, guessed codes
// against the login limits, a recovery code spent twice (also at the same moment), the secret
// looked for in the database, a key rotation, the API's user.otp. The clock is the app's
// (AppOptions.now): moved, never waited for.

const STEP = 30_000;
const STEP_FAILED = 'The email, password or code was wrong. Sign in again.';

interface TwoFactorTest extends TestApp {
  readonly clock: { ms: number };
}

async function twoFactorTest(t: TestContext, backend: BackendName, env: Record<string, string> = {}): Promise<TwoFactorTest> {
  // The middle of a time step, so ±1 step is never a boundary question.
  const clock = { ms: Math.floor(Date.now() / STEP) * STEP + STEP / 2 };
  const testApp = await startTestApp(t, backend, env, {}, { now: () => clock.ms });
  return { ...testApp, clock };
}

const secretOnPage = (html: string): string => {
  const match = /<code class="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(html);
  assert.ok(match, 'the enrolment page shows the secret as text');
  return match[1]!.replaceAll(' ', '');
};
const codesOnPage = (html: string): string[] =>
  [...html.matchAll(/<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})<\/code><\/li>/g)].map((m) => m[1]!);

/** Sets up an authenticator app for the browser's account as a person does: start, read the key off the page, type the app's code. */
async function enrol(browser: PageBrowser, clock: { ms: number }): Promise<{ secret: string; codes: string[]; page: TestResponse }> {
  const start = await browser.post('/settings/security/totp/start', {}, { from: '/settings/security' });
  assert.equal(start.statusCode, 303);
  assert.equal(start.headers.location, '/settings/security/totp');
  const secret = secretOnPage((await browser.get('/settings/security/totp')).body);
  const page = await browser.post('/settings/security/totp', { code: codeAt(secret, clock.ms) }, { from: '/settings/security/totp' });
  assert.equal(page.statusCode, 200, 'the first right code turns it on');
  const codes = codesOnPage(page.body);
  return { secret, codes, page };
}

/** The password step: for an account with a second factor, always a 303 to the code form. */
const passwordStep = (browser: PageBrowser, password = browser.password) =>
  browser.post('/login', { email: browser.email, password }, { from: '/login' });
const codeStep = (browser: PageBrowser, code: string) => browser.post('/login/two-factor', { code }, { from: '/login/two-factor' });

async function signIn(
  app: FastifyInstance,
  account: PageBrowser,
  code: string,
  password = account.password,
): Promise<{ browser: PageBrowser; res: TestResponse }> {
  const browser = Object.assign(newBrowser(app, { username: account.username }), { email: account.email, password: account.password });
  const first = await passwordStep(browser, password);
  assert.equal(first.statusCode, 303, 'the password step of a two-factor account always goes on to the code');
  assert.equal(first.headers.location, '/login/two-factor');
  return { browser, res: await codeStep(browser, code) };
}

const isSignedIn = async (browser: PageBrowser): Promise<boolean> => (await browser.get('/settings')).statusCode === 200;

async function auditEvents(t: TestApp, event: string): Promise<Array<{ actor_id: number | null; details: string }>> {
  return t.runtime.db.kysely.selectFrom('audit_log').select(['actor_id', 'details']).where('event', '=', event).orderBy('id').execute();
}

async function mailsTo(app: FastifyInstance, to: string, subject: RegExp) {
  await app.mailer.settled();
  return (await outboxMailsTo(app, to)).filter((m) => subject.test(m.subject ?? ''));
}

for (const backend of BACKENDS) {
  test(`[${backend}] enrolment: a wrong first code is refused and leaves it off; the right one turns it on, shows 10 recovery codes once, ends other sessions, is audited and mailed`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    const other = await loggedInBrowser(app, owner);

    await owner.post('/settings/security/totp/start', {}, { from: '/settings/security' });
    const enrolPage = await owner.get('/settings/security/totp');
    assert.equal(enrolPage.statusCode, 200);
    assert.match(
      enrolPage.body,
      /<img class="qr-code" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/,
      'the QR code is an SVG drawn on the server, in an <img>',
    );
    assert.doesNotMatch(enrolPage.body, /<script|style=/, 'no script and no inline style: the CSP is unchanged');
    const secret = secretOnPage(enrolPage.body);
    assert.ok(secret.length >= 32, 'at least 160 bits of base32');

    const wrong = await owner.post(
      '/settings/security/totp',
      { code: codeAt(secret, clock.ms + 5 * STEP) },
      { from: '/settings/security/totp' },
    );
    assert.equal(wrong.statusCode, 422, 'a code that is not now is refused');
    assert.match(wrong.body, /That code is not right/);
    assert.equal(await app.twoFactor.required(await idOf(ctx, owner.email)), false, 'still off');
    const plain = await loggedInBrowser(app, owner);
    assert.ok(await isSignedIn(plain), 'the password alone still signs in');

    const on = await owner.post('/settings/security/totp', { code: codeAt(secret, clock.ms) }, { from: '/settings/security/totp' });
    assert.equal(on.statusCode, 200);
    const codes = codesOnPage(on.body);
    assert.equal(codes.length, 10, 'ten recovery codes');
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.ok(code.replaceAll('-', '').length * 5 >= 50, 'each of at least 50 bits');
    assert.match(on.headers['cache-control'] ?? '', /no-store/);
    assert.ok(await isSignedIn(owner), 'this browser stays in');
    assert.equal(await isSignedIn(other), false, 'every other session was ended');
    const security = await owner.get('/settings/security');
    assert.match(security.body, /<strong>On\.<\/strong>/);
    for (const code of codes) assert.ok(!security.body.includes(code), 'the codes are never shown again');
    assert.equal((await auditEvents(ctx, 'two-factor.enable')).length, 1);
    assert.equal((await mailsTo(app, owner.email, /Two-factor sign-in/)).length, 1, 'the owner is told by mail');
  });

  test(`[${backend}] sign-in: the password alone starts no session; the right code does (audited with its method); a wrong password is answered exactly like a right one until the code step`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    const { secret } = await enrol(owner, clock);

    const right = newBrowser(app);
    const wrong = newBrowser(app);
    const a = await right.post('/login', { email: owner.email, password: owner.password }, { from: '/login' });
    const b = await wrong.post('/login', { email: owner.email, password: 'not the password at all' }, { from: '/login' });
    assert.equal(a.statusCode, 303);
    assert.equal(b.statusCode, 303);
    assert.equal(a.headers.location, b.headers.location);
    assert.deepEqual(
      a.cookies.map((c) => [c.name, c.path, c.maxAge, c.httpOnly, c.sameSite]),
      b.cookies.map((c) => [c.name, c.path, c.maxAge, c.httpOnly, c.sameSite]),
      'the same cookies',
    );
    assert.equal(a.body, b.body);
    assert.equal(await isSignedIn(right), false, 'no session before the code');
    assert.equal((await right.get('/login/two-factor')).statusCode, 200);

    // A locked account's right password is answered the same way too (locked is judged after the password).
    const lockedBrowser = newBrowser(app);
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('email', '=', owner.email).execute();
    const c = await lockedBrowser.post('/login', { email: owner.email, password: owner.password }, { from: '/login' });
    await runtime.db.kysely.updateTable('users').set({ locked_at: null }).where('email', '=', owner.email).execute();
    assert.deepEqual([c.statusCode, c.headers.location, c.body], [a.statusCode, a.headers.location, a.body]);
    assert.equal((await codeStep(lockedBrowser, codeAt(secret, clock.ms))).statusCode, 422, 'and its code step fails');
    // No challenge, or a forged one: back to the password.
    assert.equal((await newBrowser(app).get('/login/two-factor')).headers.location, '/login');
    const forged = await app.inject({ method: 'GET', url: '/login/two-factor', headers: { cookie: `two-factor=${'A'.repeat(43)}` } });
    assert.equal(forged.headers.location, '/login');

    // The wrong password's code step fails with the right code, with the message any failure gets.
    const failed = await codeStep(wrong, codeAt(secret, clock.ms));
    assert.equal(failed.statusCode, 422);
    assert.ok(failed.body.includes(STEP_FAILED));
    assert.equal(await isSignedIn(wrong), false);

    const passed = await codeStep(right, codeAt(secret, clock.ms + STEP));
    assert.equal(passed.statusCode, 303);
    assert.equal(passed.headers.location, '/');
    assert.ok(await isSignedIn(right));
    const success = (await auditEvents(ctx, 'login.success')).at(-1)!;
    assert.equal(JSON.parse(success.details).method, 'totp');
    // The challenge was taken: its cookie replayed (a copy of it) finds nothing.
    assert.equal((await right.get('/login/two-factor')).statusCode, 303);
  });

  test(`[${backend}] a code is taken once: replayed, or an older one after a newer, it is refused; the half-login is single-use and lasts 5 minutes`, async (t) => {
    const { app, runtime, clock } = await twoFactorTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const { secret } = await enrol(owner, clock);
    clock.ms += 2 * STEP; // past the step the enrolment took
    const code = codeAt(secret, clock.ms);
    assert.equal((await signIn(app, owner, code)).res.statusCode, 303);
    const replay = await signIn(app, owner, code);
    assert.equal(replay.res.statusCode, 422, 'the same code again');
    assert.equal(await isSignedIn(replay.browser), false);
    const older = await signIn(app, owner, codeAt(secret, clock.ms - STEP));
    assert.equal(older.res.statusCode, 422, 'the previous step, after the current one was used');

    // Two answers to one challenge (a copied cookie, a second tab): the first takes it.
    const browser = Object.assign(newBrowser(app), { email: owner.email, password: owner.password });
    await passwordStep(browser);
    const form = await browser.csrf('/login/two-factor');
    const cookie = browser.cookieHeader;
    clock.ms += STEP;
    const [x, y] = await Promise.all(
      [codeAt(secret, clock.ms), codeAt(secret, clock.ms)].map((c) =>
        app.inject({
          method: 'POST',
          url: '/login/two-factor',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ code: c, _csrf: form }).toString(),
          remoteAddress: '10.99.0.1',
        }),
      ),
    );
    assert.deepEqual([x!.statusCode, y!.statusCode].sort(), [303, 422], 'one sign-in from one challenge');

    const late = Object.assign(newBrowser(app), { email: owner.email, password: owner.password });
    await passwordStep(late);
    clock.ms += 5 * 60_000 + 1;
    const expired = await codeStep(late, codeAt(secret, clock.ms));
    assert.equal(expired.statusCode, 422);
    assert.match(expired.body, /took too long/);
  });

  test(`[${backend}] the clock window: a code one step early or late is accepted, two steps early or late is refused`, async (t) => {
    const { app, runtime, clock } = await twoFactorTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const { secret } = await enrol(owner, clock);
    clock.ms += 10 * STEP;
    assert.equal((await signIn(app, owner, codeAt(secret, clock.ms - 2 * STEP))).res.statusCode, 422, 'two steps behind');
    assert.equal((await signIn(app, owner, codeAt(secret, clock.ms + 2 * STEP))).res.statusCode, 422, 'two steps ahead');
    assert.equal((await signIn(app, owner, codeAt(secret, clock.ms - STEP))).res.statusCode, 303, 'one step behind');
    assert.equal((await signIn(app, owner, codeAt(secret, clock.ms + STEP))).res.statusCode, 303, 'one step ahead');
  });

  test(`[${backend}] guessed codes are failed logins: five wrong codes from one address and the sixth password step is refused with 429`, async (t) => {
    const { app, runtime, clock } = await twoFactorTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const { secret } = await enrol(owner, clock);
    const attacker = Object.assign(newBrowser(app), { email: owner.email, password: owner.password });
    const right = codeAt(secret, clock.ms + STEP);
    for (let i = 0; i < LOGIN_RULES.accountIp.points; i++) {
      assert.equal((await passwordStep(attacker)).statusCode, 303);
      const guess = String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');
      assert.equal((await codeStep(attacker, guess)).statusCode, 422);
    }
    const refused = await passwordStep(attacker);
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
  });

  test(`[${backend}] a recovery code signs in once, tells how many are left on the page and by mail, and is audited; spent twice at the same moment, only one gets in`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    const { codes } = await enrol(owner, clock);

    const used = await signIn(app, owner, codes[0]!.toUpperCase().replaceAll('-', ' '));
    assert.equal(used.res.statusCode, 303, 'typed in capitals with spaces, it still works');
    assert.equal(used.res.headers.location, '/settings/security?done=recovery-code');
    const page = await used.browser.get(used.res.headers.location as string);
    assert.match(page.body, /You signed in with a recovery code/);
    assert.match(page.body, /<strong>9<\/strong> of your recovery codes are left/);
    const [mail] = await mailsTo(app, owner.email, /recovery code was used/);
    assert.ok(mail, 'the owner is told by mail');
    assert.match(String(mail.text), /9 of your recovery codes are left/);
    const audit = await auditEvents(ctx, 'recovery-code.use');
    assert.equal(audit.length, 1);
    assert.ok(!audit[0]!.details.includes(codes[0]!.slice(0, 4)), 'the code is not in the audit log');

    assert.equal((await signIn(app, owner, codes[0]!)).res.statusCode, 422, 'spent: refused');

    // Two sign-ins racing with one code, each with its own challenge.
    const racers = [
      Object.assign(newBrowser(app), { email: owner.email, password: owner.password }),
      Object.assign(newBrowser(app), { email: owner.email, password: owner.password }),
    ];
    for (const r of racers) await passwordStep(r);
    const tokens = await Promise.all(racers.map((r) => r.csrf('/login/two-factor')));
    const results = await Promise.all(
      racers.map((r, i) =>
        app.inject({
          method: 'POST',
          url: '/login/two-factor',
          headers: { cookie: r.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ code: codes[1]!, _csrf: tokens[i]! }).toString(),
          remoteAddress: `10.98.0.${i + 1}`,
        }),
      ),
    );
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [303, 422], 'exactly one gets in');
    assert.equal(await app.twoFactor.recovery.remaining(await idOf(ctx, owner.email)), 8);
  });

  test(`[${backend}] one recovery code spent by many requests at once is taken once (the conditional UPDATE)`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const owner = await makeUser(ctx.app, ctx.runtime, 'racer');
    const codes = await ctx.app.twoFactor.recovery.replace(owner.id, ctx.clock.ms);
    const results = await Promise.all(Array.from({ length: 8 }, () => ctx.app.twoFactor.recovery.use(owner.id, codes[3]!, ctx.clock.ms)));
    assert.deepEqual(
      results.filter((r) => r !== null),
      [9],
      'one use, nine left',
    );
  });

  test(`[${backend}] at rest the secret is sealed: the row holds no base32 secret, the recovery codes only hashes`, async (t) => {
    const { app, runtime, clock } = await twoFactorTest(t, backend);
    const owner = await memberBrowser(app, runtime);
    const { secret, codes } = await enrol(owner, clock);
    const rows = await runtime.db.kysely.selectFrom('totp_credentials').selectAll().execute();
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows);
    // The secret's raw bytes too, in the encodings a careless store would use.
    const bytes = Buffer.from(Secret.fromBase32(secret).bytes);
    for (const form of [secret, secret.toLowerCase(), bytes.toString('base64'), bytes.toString('hex')])
      assert.ok(!stored.includes(form), 'no form of the secret is in the row');
    const codeRows = JSON.stringify(await runtime.db.kysely.selectFrom('recovery_codes').selectAll().execute());
    for (const code of codes)
      assert.ok(!codeRows.includes(code) && !codeRows.includes(code.replaceAll('-', '')), 'no recovery code in the clear');
    // A sealed secret copied into another account's row opens for nobody (bound to the user id).
    const thief = await memberBrowser(app, runtime);
    const thiefId = await idOf({ runtime } as TestApp, thief.email);
    await runtime.db.kysely
      .insertInto('totp_credentials')
      .values({ ...rows[0]!, user_id: thiefId })
      .execute();
    assert.equal((await signIn(app, thief, codeAt(secret, clock.ms + STEP))).res.statusCode, 422);
  });

  test(`[${backend}] key rotation: a secret sealed under the previous SECRET_KEY still verifies with it in SECRET_KEY_FALLBACKS, and not without`, async (t) => {
    const previous = randomKey();
    const rotated = await twoFactorTest(t, backend, { SECRET_KEY: randomKey(), SECRET_KEY_FALLBACKS: previous });
    const dropped = await twoFactorTest(t, backend, { SECRET_KEY: randomKey() });
    const old = sealedBox(deriveEncryptionKeys({ secretKey: previous, secretKeyFallbacks: [] } as unknown as Config, 'totp-secret'));
    for (const [ctx, expected] of [
      [rotated, 303],
      [dropped, 422],
    ] as const) {
      const owner = await memberBrowser(ctx.app, ctx.runtime);
      const id = await idOf(ctx, owner.email);
      const secret = newTotpSecret();
      await ctx.runtime.db.kysely
        .insertInto('totp_credentials')
        .values({
          user_id: id,
          secret: old.seal(secret, `totp:${id}`),
          last_step: null,
          created_at: new Date().toISOString(),
          enabled_at: new Date().toISOString(),
        })
        .execute();
      assert.equal((await signIn(ctx.app, owner, codeAt(secret, ctx.clock.ms))).res.statusCode, expected);
    }
  });

  test(`[${backend}] API: user.otp is required for a two-factor account (whatever the password), checked once, and wrong ones count as failed logins; accounts without two-factor are unchanged`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    const { secret } = await enrol(owner, clock);
    const login = (user: Record<string, string>, remoteAddress = '10.97.0.1') =>
      app.inject({
        method: 'POST',
        url: '/api/users/login',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ user }),
      });

    const missing = await login({ email: owner.email, password: owner.password });
    assert.equal(missing.statusCode, 401);
    assert.deepEqual(missing.json().errors, { otp: ['is required'] });
    const missingWrongPassword = await login({ email: owner.email, password: 'wrong wrong wrong' });
    assert.deepEqual(
      [missingWrongPassword.statusCode, missingWrongPassword.json().errors],
      [401, { otp: ['is required'] }],
      'the same answer: the password is not judged aloud',
    );
    const wrongPassword = await login({ email: owner.email, password: 'wrong wrong wrong', otp: codeAt(secret, clock.ms + STEP) });
    assert.equal(wrongPassword.statusCode, 401);
    const wrongOtp = await login({
      email: owner.email,
      password: owner.password,
      otp: '000000' === codeAt(secret, clock.ms) ? '111111' : '000000',
    });
    assert.deepEqual(wrongPassword.json().errors, wrongOtp.json().errors, 'a wrong password and a wrong otp answer alike');
    assert.deepEqual(wrongOtp.json().errors, { 'email, password or otp': ['is invalid'] });

    const code = codeAt(secret, clock.ms + STEP);
    const ok = await login({ email: owner.email, password: owner.password, otp: code }, '10.97.0.2');
    assert.equal(ok.statusCode, 200);
    assert.ok(ok.json().user.token);
    const replay = await login({ email: owner.email, password: owner.password, otp: code }, '10.97.0.2');
    assert.equal(replay.statusCode, 401, 'the same otp twice');
    assert.equal(JSON.parse((await auditEvents(ctx, 'login.success')).at(-1)!.details).method, 'totp');

    // From a fresh address: five wrong otps with the right password, and the sixth attempt (with a right otp) is refused.
    for (let i = 0; i < LOGIN_RULES.accountIp.points; i++)
      await login({ email: owner.email, password: owner.password, otp: '000001' }, '10.97.0.3');
    assert.equal(
      (await login({ email: owner.email, password: owner.password, otp: codeAt(secret, clock.ms) }, '10.97.0.3')).statusCode,
      429,
    );

    const plain = await makeUser(app, runtime, 'plainapi');
    const res = await api(app, 'POST', '/api/users/login', { body: { user: { email: plain.email, password: STRONG_PASSWORD } } });
    assert.equal(res.statusCode, 200, 'no otp needed without two-factor');
    const extra = await api(app, 'POST', '/api/users/login', {
      body: { user: { email: plain.email, password: STRONG_PASSWORD, otp: '123456' } },
    });
    assert.equal(extra.statusCode, 200, 'an otp sent to an account without two-factor is ignored');
  });

  test(`[${backend}] turning it on or off and remaking the recovery codes end every other session and every API token, are audited and mailed; the old codes stop working`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    const ownerId = await idOf(ctx, owner.email);
    // A token got with the password alone, say by someone who had it: turning it on ends the token.
    const tokenLive = async (token: string) => (await api(app, 'GET', '/api/user', { token })).statusCode === 200;
    const before = await app.apiTokens.issue(ownerId, 'test');
    assert.ok(await tokenLive(before));
    const { secret, codes, page } = await enrol(owner, clock);
    assert.equal(await tokenLive(before), false, 'turning it on ended the API token');
    assert.match(page.body, /Two-factor sign-in is on\. Every other session and API token was ended\./, 'and the page says so');
    const other = (await signIn(app, owner, codeAt(secret, clock.ms + STEP))).browser;
    assert.ok(await isSignedIn(other));
    const duringCodes = await app.apiTokens.issue(ownerId, 'test');

    const fresh = await owner.post('/settings/security/recovery-codes', {}, { from: '/settings/security' });
    assert.equal(fresh.statusCode, 200);
    const newCodes = codesOnPage(fresh.body);
    assert.equal(newCodes.length, 10);
    assert.ok(newCodes.every((c) => !codes.includes(c)));
    assert.equal(await isSignedIn(other), false, 'the other session was ended');
    assert.equal(await tokenLive(duringCodes), false, 'and the API token');
    assert.ok(await isSignedIn(owner));
    assert.equal((await signIn(app, owner, codes[0]!)).res.statusCode, 422, 'an old code is void');
    assert.equal((await auditEvents(ctx, 'recovery-codes.regenerate')).length, 1);

    const second = (await signIn(app, owner, newCodes[0]!)).browser;
    const duringOff = await app.apiTokens.issue(ownerId, 'test');
    const off = await owner.post('/settings/security/totp/disable', {}, { from: '/settings/security' });
    assert.equal(off.statusCode, 303);
    assert.equal(off.headers.location, '/settings/security?done=disabled');
    assert.equal(await isSignedIn(second), false, 'the other session was ended');
    assert.equal(await tokenLive(duringOff), false, 'and the API token');
    assert.ok(await isSignedIn(owner));
    assert.equal((await auditEvents(ctx, 'two-factor.disable')).length, 1);
    assert.ok(await isSignedIn(await loggedInBrowser(app, owner)), 'the password alone signs in again');
    assert.equal(await app.twoFactor.recovery.remaining(ownerId), 0, 'the codes went with it');
    assert.equal((await mailsTo(app, owner.email, /Two-factor sign-in/)).length, 3, 'on, new codes, off: each told by mail');
  });

  test(`[${backend}] admin: sees who has a second factor and resets it (audited, owner mailed, every session and API token of the owner ended); a member cannot`, async (t) => {
    const ctx = await twoFactorTest(t, backend);
    const { app, runtime, clock } = ctx;
    const owner = await memberBrowser(app, runtime);
    await enrol(owner, clock);
    const ownerId = await idOf(ctx, owner.email);
    const adminAccount = await makeUser(app, runtime, 'boss', 'admin');
    const admin = await loggedInBrowser(app, { email: adminAccount.email, password: STRONG_PASSWORD, username: adminAccount.username });
    const list = await admin.get(`/admin?q=${owner.username}`);
    assert.match(list.body, /<td data-label="2FA" class="two-factor">on<\/td>/);

    const member = await memberBrowser(app, runtime);
    const refused = await member.post(`/admin/users/${ownerId}/two-factor/reset`, {});
    assert.equal(refused.statusCode, 403);
    assert.equal(await app.twoFactor.required(ownerId), true);

    // Whoever holds the lost phone may be signed in with it, or hold a token: both end.
    const token = await app.apiTokens.issue(ownerId, 'test');
    assert.ok(await isSignedIn(owner));
    const reset = await admin.post(`/admin/users/${ownerId}/two-factor/reset`, {}, { from: `/admin?q=${owner.username}` });
    assert.equal(reset.statusCode, 303);
    assert.equal(await app.twoFactor.required(ownerId), false);
    assert.equal(await isSignedIn(owner), false, "the owner's session ended");
    assert.equal((await api(app, 'GET', '/api/user', { token })).statusCode, 401, 'and the API token');
    assert.ok(await isSignedIn(admin), "the admin's own session goes on");
    const audit = await auditEvents(ctx, 'two-factor.reset');
    assert.equal(audit.length, 1);
    assert.equal(JSON.parse(audit[0]!.details).targetId, ownerId);
    const mails = await mailsTo(app, owner.email, /Two-factor sign-in/);
    assert.match(String(mails.at(-1)!.text), /an administrator removed your authenticator app, recovery codes and passkeys/);
    assert.ok(await isSignedIn(await loggedInBrowser(app, owner)), 'the password alone signs in');
  });

  test(`[${backend}] REQUIRE_TWO_FACTOR_FOR=admin,moderator: an admin without a second factor is sent to set one up before any other page works; members are not`, async (t) => {
    const ctx = await twoFactorTest(t, backend, { REQUIRE_TWO_FACTOR_FOR: 'admin, moderator' });
    const { app, runtime, clock } = ctx;
    const adminAccount = await makeUser(app, runtime, 'chief', 'admin');
    const admin = await loggedInBrowser(app, { email: adminAccount.email, password: STRONG_PASSWORD, username: adminAccount.username });
    for (const url of ['/admin', '/settings', '/']) {
      const res = await admin.get(url);
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, '/settings/security?done=required');
    }
    const page = await admin.get('/settings/security?done=required');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Your role requires two-factor sign-in/);
    await enrol(admin, clock);
    assert.equal((await admin.get('/admin')).statusCode, 200, 'with a second factor every page works');
    const stillNone = await loggedInBrowser(app, {
      email: (await makeUser(app, runtime, 'mod', 'moderator')).email,
      password: STRONG_PASSWORD,
      username: 'mod',
    });
    assert.equal((await stillNone.get('/')).headers.location, '/settings/security?done=required', 'moderators too');
    assert.equal((await stillNone.post('/logout', {}, { from: '/settings/security' })).statusCode, 303, 'signing out still works');
    assert.equal(await isSignedIn(stillNone), false);

    const member = await memberBrowser(app, runtime);
    assert.equal((await member.get('/settings')).statusCode, 200);
  });

  test(`[${backend}] REQUIRE_TWO_FACTOR_FOR=admin,moderator: the API login gives a moderator without a second factor no token, a token issued before is refused 403, and setting one up ends it; a member's works`, async (t) => {
    const ctx = await twoFactorTest(t, backend, { REQUIRE_TWO_FACTOR_FOR: 'admin, moderator' });
    const { app, runtime, clock } = ctx;
    const victim = await makeUser(app, runtime, 'writer');
    const slug = (
      await api(app, 'POST', '/api/articles', { user: victim, body: { article: { title: 'Kept', description: 'd', body: 'b' } } })
    ).json<{ article: { slug: string } }>().article.slug;
    const mod = await makeUser(app, runtime, 'modapi', 'moderator'); // its token issued before the rule applied
    const secondFactorError = (res: TestResponse) => String(res.json<{ errors: Record<string, string[]> }>().errors['second factor']);

    const login = await api(app, 'POST', '/api/users/login', { body: { user: { email: mod.email, password: STRONG_PASSWORD } } });
    assert.equal(login.statusCode, 403, 'the password alone buys no moderator token');
    assert.match(secondFactorError(login), /must be set up on the site/);
    assert.equal(login.json<{ user?: unknown }>().user, undefined);
    assert.equal(JSON.parse((await auditEvents(ctx, 'login.failure')).at(-1)!.details).reason, 'second-factor-setup');

    const deleted = await api(app, 'DELETE', `/api/articles/${slug}`, { token: mod.token });
    assert.equal(deleted.statusCode, 403, 'an older token may not delete through the API');
    assert.match(secondFactorError(deleted), /must be set up on the site/);
    assert.equal((await api(app, 'GET', '/api/user', { token: mod.token })).statusCode, 403, 'nor read its own account');
    assert.equal((await api(app, 'GET', `/api/articles/${slug}`)).statusCode, 200, 'the article is still there');
    assert.equal((await api(app, 'GET', '/api/user', { user: victim })).statusCode, 200, "a member's token works");

    // Set up on the site: the token got without it is ended; a login with the code gets one that works.
    const site = await loggedInBrowser(app, { email: mod.email, password: STRONG_PASSWORD, username: mod.username });
    const { secret } = await enrol(site, clock);
    assert.equal((await api(app, 'GET', '/api/user', { token: mod.token })).statusCode, 401, 'the old token ended with the set-up');
    const withCode = await api(app, 'POST', '/api/users/login', {
      body: { user: { email: mod.email, password: STRONG_PASSWORD, otp: codeAt(secret, clock.ms + STEP) } },
    });
    assert.equal(withCode.statusCode, 200);
    const token = withCode.json<{ user: { token: string } }>().user.token;
    assert.equal((await api(app, 'GET', '/api/user', { token })).statusCode, 200);
  });
}

test('REQUIRE_TWO_FACTOR_FOR accepts only role names', () => {
  assert.deepEqual(
    loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), REQUIRE_TWO_FACTOR_FOR: 'admin,moderator,admin' }, dotenvPath: null })
      .config.requireTwoFactorFor,
    ['admin', 'moderator'],
  );
  assert.throws(
    () => loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), REQUIRE_TWO_FACTOR_FOR: 'admin,root' }, dotenvPath: null }),
    /REQUIRE_TWO_FACTOR_FOR/,
  );
});

async function idOf(ctx: Pick<TestApp, 'runtime'>, email: string): Promise<number> {
  return (await ctx.runtime.db.kysely.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
}

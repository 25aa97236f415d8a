import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { type BackendName, BACKENDS, memberBrowser, newBrowser, outboxMailsTo, type PageBrowser, type TestResponse } from 'bastion/testing';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Passkeys on the server (SPEC §3 "second factor"), with a software authenticator that builds
// the real bytes (apps/conduit/test/helpers/soft-authenticator.ts), so @simplewebauthn/server's verification
// is what decides. Each defence is attacked: a replayed answer, a challenge issued to another
// session, an expired one, a forged origin or RP ID, no user verification, a counter that goes
// back, another account's passkey, oversized or unexpected JSON, a missing CSRF token, a flood
// of failed sign-ins from one address. The browser journey: apps/conduit/test/browser-passkeys.test.ts.

const ORIGIN = 'https://conduit.example.com';

interface PasskeyTest extends TestApp {
  readonly clock: { ms: number };
}

async function passkeyTest(t: TestContext, backend: BackendName): Promise<PasskeyTest> {
  const clock = { ms: Date.now() };
  const testApp = await startTestApp(t, backend, { PUBLIC_ORIGIN: ORIGIN }, {}, { now: () => clock.ms });
  return { ...testApp, clock };
}

const json = <T>(res: TestResponse): T => res.json<T>();

async function registrationOptions(browser: PageBrowser): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const res = await browser.postJson('/settings/passkeys/options', {}, { from: '/settings/security', form: '/settings/passkeys' });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

const registerWith = (browser: PageBrowser, name: string, credential: unknown): Promise<TestResponse> =>
  browser.postJson('/settings/passkeys', { name, credential }, { from: '/settings/security' });

/** Adds a passkey through the pages, as the script does; returns the authenticator holding it. */
async function addPasskey(
  browser: PageBrowser,
  name = 'Laptop',
  authenticator = new SoftAuthenticator(ORIGIN),
): Promise<SoftAuthenticator> {
  const res = await registerWith(browser, name, authenticator.register(await registrationOptions(browser)));
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(json(res), { next: '/settings/security?done=passkey-added' });
  return authenticator;
}

async function signInOptions(browser: PageBrowser): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const res = await browser.postJson('/login/passkey/options', {}, { from: '/login', form: '/login/passkey' });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

const signInWith = (browser: PageBrowser, credential: unknown, extra: Record<string, unknown> = {}): Promise<TestResponse> =>
  browser.postJson('/login/passkey', { credential, ...extra }, { from: '/login' });

const isSignedIn = async (browser: PageBrowser): Promise<boolean> => (await browser.get('/settings')).statusCode === 200;

async function auditRows(app: TestApp, event: string): Promise<Array<{ actor_id: number | null; details: Record<string, unknown> }>> {
  const rows = await app.runtime.db.kysely
    .selectFrom('audit_log')
    .select(['actor_id', 'details'])
    .where('event', '=', event)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ actor_id: r.actor_id, details: JSON.parse(r.details) as Record<string, unknown> }));
}

const userIdOf = async (app: TestApp, username: string): Promise<number> =>
  (await app.runtime.db.kysely.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

for (const backend of BACKENDS) {
  test(`[${backend}] a member adds passkeys with user verification and discoverable keys required, the RP being PUBLIC_ORIGIN; each is listed, audited and mailed, and the options exclude those already added`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const options = await registrationOptions(member);
    assert.equal(options.rp.id, 'conduit.example.com');
    assert.deepEqual(options.authenticatorSelection, { residentKey: 'required', requireResidentKey: true, userVerification: 'required' });
    assert.equal(options.attestation, 'none');
    assert.deepEqual(options.excludeCredentials, []);
    assert.ok(Buffer.from(options.challenge, 'base64url').length >= 16, 'a challenge of at least 16 random bytes');
    assert.notEqual(options.user.id, String(await userIdOf(h, member.username)), 'the user handle is not the database id');

    const laptop = new SoftAuthenticator(ORIGIN);
    assert.equal((await registerWith(member, '  Laptop\u0007 ', laptop.register(options))).statusCode, 200);
    const phone = await addPasskey(member, 'Phone');
    const again = await registrationOptions(member);
    assert.deepEqual(
      again.excludeCredentials?.map((c) => c.id),
      [laptop.credentials[0]!.id.toString('base64url'), phone.credentials[0]!.id.toString('base64url')],
    );

    const page = await member.get('/settings/security');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /value="Laptop"/, 'the name is trimmed and loses its control characters');
    assert.match(page.body, /value="Phone"/);
    assert.match(
      page.body,
      /<form class="stack" method="post" action="\/settings\/passkeys" data-passkey="register" hidden>/,
      'the add form is hidden until the script shows it',
    );
    assert.match(page.body, /<script type="module" src="\/static\/passkeys.js"><\/script>/);
    const added = await auditRows(h, 'passkey.add');
    assert.deepEqual(
      added.map((r) => r.details.name),
      ['Laptop', 'Phone'],
    );
    await h.app.mailer.settled();
    const mails = (await outboxMailsTo(h.app, member.email)).filter((m) => /passkey was added/.test(m.subject ?? ''));
    assert.equal(mails.length, 2);
    assert.match(String(mails[0]!.text), /A passkey named "Laptop" was added/);
  });

  test(`[${backend}] the account's first passkey ends every other session and API token (got with the password alone), keeping this browser in; a second passkey ends nothing`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const id = await userIdOf(h, member.username);
    const elsewhere = newBrowser(h.app, member);
    assert.equal((await elsewhere.login(member.email, member.password)).statusCode, 303);
    const token = await h.app.apiTokens.issue(id, 'test');
    const tokenLive = async (value: string) =>
      (await h.app.inject({ url: '/api/user', headers: { authorization: `Token ${value}` } })).statusCode === 200;
    assert.ok(await tokenLive(token));

    await addPasskey(member, 'Laptop');
    assert.equal(await isSignedIn(elsewhere), false, 'the other session ended');
    assert.equal(await tokenLive(token), false, 'the API token ended');
    assert.ok(await isSignedIn(member), 'this browser goes on');

    const laterToken = await h.app.apiTokens.issue(id, 'test');
    await addPasskey(member, 'Phone');
    assert.ok(await tokenLive(laterToken), 'a second passkey leaves the token');
    assert.equal((await member.get('/settings')).statusCode, 200);
  });

  test(`[${backend}] a registration answer is used once, only by the session it was issued to, within five minutes; a forged origin or RP ID, or no user verification, is refused`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const other = await memberBrowser(h.app, h.runtime);
    const refused = async (res: TestResponse, reason: string) => {
      assert.equal(res.statusCode, 422, res.body);
      assert.equal((await auditRows(h, 'passkey.failure')).at(-1)?.details.reason, reason);
    };

    const authenticator = new SoftAuthenticator(ORIGIN);
    const answer = authenticator.register(await registrationOptions(member));
    // Another member's session holds a challenge of its own: the answer to member's is foreign to it.
    await registrationOptions(other);
    await refused(await registerWith(other, 'Stolen', answer), 'invalid');
    await refused(await registerWith(other, 'Stolen', answer), 'no-challenge');
    assert.equal((await registerWith(member, 'Mine', answer)).statusCode, 200, 'the session it was issued to');
    await refused(await registerWith(member, 'Again', answer), 'no-challenge');

    await refused(
      await registerWith(
        member,
        'Forged',
        authenticator.register(await registrationOptions(member), { origin: 'https://conduit.example.com.evil.test' }),
      ),
      'invalid',
    );
    await refused(
      await registerWith(member, 'Forged', authenticator.register(await registrationOptions(member), { rpId: 'evil.test' })),
      'invalid',
    );
    await refused(
      await registerWith(member, 'No UV', authenticator.register(await registrationOptions(member), { userVerified: false })),
      'invalid',
    );

    const late = authenticator.register(await registrationOptions(member));
    h.clock.ms += 5 * 60_000 + 1;
    await refused(await registerWith(member, 'Late', late), 'no-challenge');
    assert.deepEqual(
      (await h.app.passkeys.list(await userIdOf(h, member.username))).map((p) => p.name),
      ['Mine'],
    );
    assert.deepEqual(await h.app.passkeys.list(await userIdOf(h, other.username)), []);
  });

  test(`[${backend}] password-less sign-in: the options bind the challenge to an HttpOnly cookie; the assertion signs the browser in like a password (session, device cookie, login.success with method passkey) and goes to a safe next`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const authenticator = await addPasskey(member);
    const visitor = newBrowser(h.app);
    const login = await visitor.get('/login');
    assert.match(login.body, /<form class="passkey-sign-in" method="post" action="\/login\/passkey" data-passkey="sign-in" hidden>/);

    const optionsRes = await visitor.postJson('/login/passkey/options', {}, { from: '/login', form: '/login/passkey' });
    const cookie = optionsRes.cookies.find((c) => c.name === 'passkey-sign-in');
    assert.ok(
      cookie?.httpOnly && cookie.sameSite === 'Strict' && cookie.maxAge === 300,
      'an HttpOnly, SameSite=Strict cookie for five minutes',
    );
    const options = json<PublicKeyCredentialRequestOptionsJSON>(optionsRes);
    assert.equal(options.rpId, 'conduit.example.com');
    assert.equal(options.userVerification, 'required');
    assert.deepEqual(options.allowCredentials, [], 'any discoverable passkey: no account is named');

    const res = await signInWith(visitor, authenticator.assert(options), { next: '//evil.example/' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(json(res), { next: '/' });
    assert.ok(
      res.cookies.some((c) => c.name === 'passkey-sign-in' && c.value === ''),
      'the binding cookie is cleared',
    );
    assert.ok(
      res.cookies.some((c) => c.name.startsWith('device-')),
      'a device cookie, as after a password',
    );
    assert.ok(await isSignedIn(visitor));
    const success = (await auditRows(h, 'login.success')).at(-1)!;
    assert.equal(success.actor_id, await userIdOf(h, member.username));
    assert.equal(success.details.method, 'passkey');
    const [listed] = await h.app.passkeys.list(await userIdOf(h, member.username));
    assert.ok(listed?.lastUsedAt, 'the passkey shows when it was last used');
  });

  test(`[${backend}] a sign-in assertion is refused when replayed, foreign to the browser, expired, from another origin or RP ID, without user verification, with a counter gone back, or from an unknown or locked account's passkey`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const authenticator = await addPasskey(member);
    // Each case from a browser of its own: every failure counts against its address's login limit.
    const refused = async (visitor: PageBrowser, res: TestResponse, reason: string) => {
      assert.equal(res.statusCode, 401, res.body);
      assert.deepEqual(json(res), { message: 'That passkey could not sign you in.' });
      assert.equal((await auditRows(h, 'login.failure')).at(-1)?.details.reason, reason);
      assert.equal(await isSignedIn(visitor), false);
    };
    const attempt = async (forgery: Parameters<SoftAuthenticator['assert']>[1], reason: string) => {
      const visitor = newBrowser(h.app);
      await refused(visitor, await signInWith(visitor, authenticator.assert(await signInOptions(visitor), forgery)), reason);
    };

    const visitor = newBrowser(h.app);
    const good = authenticator.assert(await signInOptions(visitor));
    assert.equal((await signInWith(visitor, good)).statusCode, 200);
    await visitor.post('/logout');
    await refused(visitor, await signInWith(visitor, good), 'no-challenge');
    await signInOptions(visitor);
    await refused(visitor, await signInWith(visitor, good), 'invalid'); // an old answer to a new challenge

    // A challenge issued to one browser's cookie cannot be answered from another.
    const victim = newBrowser(h.app);
    const attacker = newBrowser(h.app);
    const victimOptions = await signInOptions(victim);
    await signInOptions(attacker);
    await refused(attacker, await signInWith(attacker, authenticator.assert(victimOptions)), 'invalid');
    await refused(attacker, await signInWith(attacker, authenticator.assert(victimOptions)), 'no-challenge');

    const slow = newBrowser(h.app);
    const late = await signInOptions(slow);
    h.clock.ms += 5 * 60_000 + 1;
    await refused(slow, await signInWith(slow, authenticator.assert(late)), 'no-challenge');

    await attempt({ origin: 'http://conduit.example.com' }, 'invalid');
    await attempt({ origin: 'https://evil.test' }, 'invalid');
    await attempt({ rpId: 'example.com' }, 'invalid');
    await attempt({ userVerified: false }, 'invalid');
    // The counter the server holds (the refused answers above moved only the authenticator's).
    const counter = Number((await h.runtime.db.kysely.selectFrom('passkeys').select('sign_count').executeTakeFirstOrThrow()).sign_count);
    assert.equal(counter, 1, 'one sign-in so far');
    await attempt({ counter: counter - 1 }, 'counter');
    await attempt({ counter }, 'counter');

    const stranger = new SoftAuthenticator(ORIGIN);
    stranger.register({
      rp: { id: 'conduit.example.com', name: 'x' },
      user: { id: 'AA', name: 'x', displayName: 'x' },
      challenge: 'AA',
      pubKeyCredParams: [],
    });
    const strangerVisitor = newBrowser(h.app);
    await refused(
      strangerVisitor,
      await signInWith(strangerVisitor, stranger.assert(await signInOptions(strangerVisitor))),
      'unknown-credential',
    );

    await h.runtime.db.kysely
      .updateTable('users')
      .set({ locked_at: new Date().toISOString() })
      .where('username', '=', member.username)
      .execute();
    await attempt({}, 'locked');
  });

  test(`[${backend}] two sign-ins racing with one assertion and one challenge: exactly one signs in`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const authenticator = await addPasskey(member);
    const visitor = newBrowser(h.app);
    const assertion = authenticator.assert(await signInOptions(visitor));
    const answers = await Promise.all([signInWith(visitor, assertion), signInWith(visitor, assertion), signInWith(visitor, assertion)]);
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 401, 401]);
  });

  test(`[${backend}] failed passkey sign-ins count against the per-IP login limit: the sixth in a minute is 429, even with a good passkey, and a success gives its count back`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const authenticator = await addPasskey(member);
    const visitor = newBrowser(h.app);
    for (let i = 0; i < 4; i++)
      assert.equal(
        (await signInWith(visitor, authenticator.assert(await signInOptions(visitor), { userVerified: false }))).statusCode,
        401,
      );
    // A success in between does not count: four failures and it leave one failure to go.
    assert.equal((await signInWith(visitor, authenticator.assert(await signInOptions(visitor)))).statusCode, 200);
    await visitor.post('/logout');
    assert.equal((await signInWith(visitor, authenticator.assert(await signInOptions(visitor), { userVerified: false }))).statusCode, 401);
    const limited = await signInWith(visitor, authenticator.assert(await signInOptions(visitor)));
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal(await isSignedIn(visitor), false);
    const other = newBrowser(h.app);
    assert.equal(
      (await signInWith(other, authenticator.assert(await signInOptions(other)))).statusCode,
      200,
      'another address is not limited',
    );
  });

  test(`[${backend}] the second-factor check accepts only the given account's passkey, against a challenge bound to that login and account`, async (t) => {
    const h = await passkeyTest(t, backend);
    const alice = await memberBrowser(h.app, h.runtime);
    const bob = await memberBrowser(h.app, h.runtime);
    const aliceKey = await addPasskey(alice);
    const bobKey = await addPasskey(bob);
    const aliceId = await userIdOf(h, alice.username);
    const bobId = await userIdOf(h, bob.username);

    const options = await h.app.passkeys.twoFactorOptions(aliceId, 'pending-login-1');
    assert.deepEqual(
      options.allowCredentials?.map((c) => c.id),
      [aliceKey.credentials[0]!.id.toString('base64url')],
      'only her passkeys are offered',
    );
    assert.deepEqual(await h.app.passkeys.verifyTwoFactor(aliceId, 'pending-login-1', bobKey.assert(options)), {
      ok: false,
      reason: 'wrong-user',
      userId: aliceId,
    });
    // The challenge is spent by the refused answer: her own passkey needs a new one.
    assert.deepEqual(await h.app.passkeys.verifyTwoFactor(aliceId, 'pending-login-1', aliceKey.assert(options)), {
      ok: false,
      reason: 'no-challenge',
      userId: aliceId,
    });

    const fresh = await h.app.passkeys.twoFactorOptions(aliceId, 'pending-login-2');
    assert.equal(
      (await h.app.passkeys.verifyTwoFactor(bobId, 'pending-login-2', bobKey.assert(fresh))).ok,
      false,
      'a challenge issued for her login is not his',
    );
    const again = await h.app.passkeys.twoFactorOptions(aliceId, 'pending-login-3');
    assert.equal(
      (await h.app.passkeys.verifyTwoFactor(aliceId, 'pending-login-4', aliceKey.assert(again))).ok,
      false,
      "nor another login's",
    );
    const own = await h.app.passkeys.twoFactorOptions(aliceId, 'pending-login-5');
    const result = await h.app.passkeys.verifyTwoFactor(aliceId, 'pending-login-5', aliceKey.assert(own));
    assert.equal(result.ok, true);
    // A sign-in challenge is not a second-factor one, and the other way round.
    const signIn = await h.app.passkeys.signInOptions('pending-login-6');
    assert.equal((await h.app.passkeys.verifyTwoFactor(aliceId, 'pending-login-6', aliceKey.assert(signIn))).ok, false);
  });

  test(`[${backend}] passkeys are renamed and removed by their owner only; removing one ends every other session and API token of the account, keeps this browser in, is audited and mailed`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const authenticator = await addPasskey(member, 'Laptop');
    await addPasskey(member, 'Phone');
    const memberId = await userIdOf(h, member.username);
    const [laptop, phone] = await h.app.passkeys.list(memberId);
    // A second browser of the same account, signed in with the passkey.
    const second = newBrowser(h.app);
    assert.equal((await signInWith(second, authenticator.assert(await signInOptions(second)))).statusCode, 200);
    const intruder = await memberBrowser(h.app, h.runtime);

    assert.equal((await intruder.post('/settings/passkeys/rename', { passkey: String(laptop!.id), name: 'Mine now' })).statusCode, 404);
    assert.equal((await intruder.post('/settings/passkeys/remove', { passkey: String(laptop!.id) })).statusCode, 404);
    assert.equal((await h.app.passkeys.list(memberId)).length, 2, 'another member cannot touch them');

    const renamed = await member.post(
      '/settings/passkeys/rename',
      { passkey: String(phone!.id), name: 'Old phone' },
      { from: '/settings/security' },
    );
    assert.equal(renamed.headers.location, '/settings/security?done=passkey-renamed');
    assert.match(
      (await member.get('/settings/security?done=passkey-renamed')).body,
      /value="Old phone"[\s\S]*The passkey was renamed|The passkey was renamed[\s\S]*value="Old phone"/,
    );

    const token = await h.app.apiTokens.issue(memberId, 'test');
    const removed = await member.post('/settings/passkeys/remove', { passkey: String(phone!.id) }, { from: '/settings/security' });
    assert.equal(removed.statusCode, 303);
    assert.equal(removed.headers.location, '/settings/security?done=passkey-removed');
    assert.ok(await isSignedIn(member), 'this browser stays signed in');
    assert.equal(await isSignedIn(second), false, 'every other session ended');
    const tokenAnswer = await h.app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } });
    assert.equal(tokenAnswer.statusCode, 401, 'and the API token');
    assert.ok(await isSignedIn(intruder), 'other accounts are untouched');
    assert.deepEqual(
      (await h.app.passkeys.list(memberId)).map((p) => p.name),
      ['Laptop'],
    );
    assert.deepEqual(
      (await auditRows(h, 'passkey.remove')).map((r) => [r.actor_id, r.details.name]),
      [[memberId, 'Old phone']],
    );
    await h.app.mailer.settled();
    const mail = (await outboxMailsTo(h.app, member.email)).find((m) => /passkey was removed/.test(m.subject ?? ''));
    assert.match(String(mail?.text), /A passkey named "Old phone" was removed[\s\S]*every other session and API token was ended/);
    assert.equal(
      (await member.post('/settings/passkeys/remove', { passkey: String(phone!.id) }, { from: '/settings/security' })).statusCode,
      404,
      'gone already',
    );
  });

  test(`[${backend}] the passkey endpoints take only bounded JSON of the WebAuthn shape, with the page's CSRF token, and adding one needs a signed-in member`, async (t) => {
    const h = await passkeyTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const answer = new SoftAuthenticator(ORIGIN).register(await registrationOptions(member));
    const withResponse = (extra: Record<string, unknown>) => ({ ...answer, response: { ...answer.response, ...extra } });
    for (const credential of [
      { ...answer, extra: 'field' },
      withResponse({ clientDataJSON: 'A'.repeat(4097) }),
      withResponse({ attestationObject: 'not base64url!' }),
      withResponse({ transports: Array(9).fill('usb') }),
      { ...answer, type: 'password' },
      { ...answer, clientExtensionResults: { prf: { enabled: true } } },
      { ...answer, id: 'A'.repeat(1401), rawId: 'A'.repeat(1401) },
    ]) {
      const res = await registerWith(member, 'Bad', credential);
      assert.ok(res.statusCode === 400 || res.statusCode === 422, `refused as a bad request (${res.statusCode})`);
    }
    assert.ok((await registerWith(member, 'x'.repeat(65), answer)).statusCode >= 400, 'a name over 64 characters');
    assert.equal(
      (await member.postJson('/settings/passkeys/options', {}, { from: '/settings/security', csrf: false })).statusCode,
      403,
      'no CSRF token',
    );
    assert.equal(
      (
        await member.postJson(
          '/settings/passkeys',
          { name: 'x', credential: answer, _csrf: 'A'.repeat(86) },
          { from: '/settings/security', csrf: false },
        )
      ).statusCode,
      403,
      'a forged CSRF token',
    );
    assert.equal(
      (await newBrowser(h.app).postJson('/login/passkey/options', {}, { from: '/login', csrf: false })).statusCode,
      403,
      'sign-in needs the token too',
    );
    const anonymous = newBrowser(h.app);
    const res = await anonymous.postJson('/settings/passkeys/options', {}, { from: '/login', form: '/login/passkey' });
    assert.ok(res.statusCode === 401 || res.statusCode === 303, `anonymous: ${res.statusCode}`);
    assert.deepEqual(await h.app.passkeys.list(await userIdOf(h, member.username)), []);
  });
}

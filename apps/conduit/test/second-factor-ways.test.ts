import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  type BackendName,
  BACKENDS,
  loggedInBrowser,
  memberBrowser,
  newBrowser,
  type PageBrowser,
  type TestResponse,
  codeAt,
} from 'bastion/testing';
import { makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// The ways of proving oneself meet: a passkey is a second factor after the password (the JSON
// step at /login/two-factor/passkey), and a passkey or an authenticator code confirms one's
// identity at /reauthenticate as the password does. Each is attacked: a wrong password with a
// good passkey, another account's passkey, a wrong code, a stale session without any proof.

const ORIGIN = 'https://conduit.example.com';
const STEP = 30_000;
const STEP_FAILED = 'The email, password or code was wrong. Sign in again.';

interface WaysTest extends TestApp {
  readonly clock: { ms: number };
}

async function waysTest(t: TestContext, backend: BackendName): Promise<WaysTest> {
  const clock = { ms: Math.floor(Date.now() / STEP) * STEP + STEP / 2 };
  const testApp = await startTestApp(t, backend, { PUBLIC_ORIGIN: ORIGIN }, {}, { now: () => clock.ms });
  return { ...testApp, clock };
}

async function addPasskey(browser: PageBrowser): Promise<SoftAuthenticator> {
  const authenticator = new SoftAuthenticator(ORIGIN);
  const options = await browser.postJson('/settings/passkeys/options', {}, { from: '/settings/security', form: '/settings/passkeys' });
  assert.equal(options.statusCode, 200, options.body);
  const added = await browser.postJson(
    '/settings/passkeys',
    { name: 'Laptop', credential: authenticator.register(options.json()) },
    { from: '/settings/security' },
  );
  assert.equal(added.statusCode, 200, added.body);
  return authenticator;
}

/** A fresh browser through the password step of `account`; for an account with a second factor, always a 303 to the code form. */
async function passwordStep(t: WaysTest, account: PageBrowser, password = account.password): Promise<PageBrowser> {
  const browser = Object.assign(newBrowser(t.app, { username: account.username }), { email: account.email, password: account.password });
  const res = await browser.post('/login', { email: account.email, password }, { from: '/login' });
  assert.deepEqual([res.statusCode, res.headers.location], [303, '/login/two-factor']);
  return browser;
}

async function passkeyStep(browser: PageBrowser, authenticator: SoftAuthenticator): Promise<TestResponse> {
  const options = await browser.postJson(
    '/login/two-factor/passkey/options',
    {},
    { from: '/login/two-factor', form: '/login/two-factor/passkey' },
  );
  assert.equal(options.statusCode, 200, options.body);
  return browser.postJson(
    '/login/two-factor/passkey',
    { credential: authenticator.assert(options.json<PublicKeyCredentialRequestOptionsJSON>()) },
    { from: '/login/two-factor' },
  );
}

const isSignedIn = async (browser: PageBrowser): Promise<boolean> => (await browser.get('/settings')).statusCode === 200;

/** A change that needs a recent proof: starting an authenticator app's enrolment. */
const sensitive = (browser: PageBrowser) => browser.post('/settings/security/totp/start', {}, { from: '/settings/security' });

for (const backend of BACKENDS) {
  test(`[${backend}] a passkey is a second factor: after the password the account's passkey signs in at /login/two-factor, while a wrong password or another account's passkey gets the one refusal`, async (t) => {
    const h = await waysTest(t, backend);
    const alice = await memberBrowser(h.app, h.runtime);
    const aliceKey = await addPasskey(alice);
    const bob = await memberBrowser(h.app, h.runtime);
    const bobKey = await addPasskey(bob);

    const page = await (await passwordStep(h, alice)).get('/login/two-factor');
    assert.match(
      page.body,
      /action="\/login\/two-factor\/passkey" data-passkey="sign-in" hidden/,
      'the passkey way is offered to the script, hidden without it',
    );

    const signedIn = await passwordStep(h, alice);
    assert.equal(await isSignedIn(signedIn), false, 'the password alone starts no session');
    const ok = await passkeyStep(signedIn, aliceKey);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { next: '/' });
    assert.ok(await isSignedIn(signedIn));
    const success = await h.runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'login.success')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal((JSON.parse(success.details) as { method: string }).method, 'passkey');

    const wrongPassword = await passwordStep(h, alice, 'not the password at all 2026');
    const refused = await passkeyStep(wrongPassword, aliceKey);
    assert.deepEqual(
      [refused.statusCode, refused.json()],
      [422, { message: STEP_FAILED }],
      'a good passkey does not make up for a wrong password',
    );
    assert.equal(await isSignedIn(wrongPassword), false);

    const foreign = await passwordStep(h, alice);
    const bobs = await passkeyStep(foreign, bobKey);
    assert.deepEqual(
      [bobs.statusCode, bobs.json()],
      [422, { message: STEP_FAILED }],
      "another account's passkey is no second factor for this one",
    );
    assert.equal(await isSignedIn(foreign), false);
    const again = await foreign.postJson('/login/two-factor/passkey/options', {}, { from: '/login', form: '/login/passkey' });
    assert.equal(again.statusCode, 422, 'the half-login was taken by that answer');
  });

  test(`[${backend}] a stale session confirms its identity with a passkey or an authenticator code as with the password, and a wrong one is counted and proves nothing`, async (t) => {
    const h = await waysTest(t, backend);
    const member = await memberBrowser(h.app, h.runtime);
    const key = await addPasskey(member);
    h.clock.ms += 11 * 60_000;
    const stale = await sensitive(member);
    assert.equal(stale.statusCode, 303);
    assert.match(String(stale.headers.location), /^\/reauthenticate\?next=/);
    const prompt = await member.get('/reauthenticate?next=/settings/security');
    assert.match(prompt.body, /action="\/reauthenticate\/passkey" data-passkey="sign-in"/, 'a member with a passkey is offered it');
    assert.doesNotMatch(prompt.body, /name="code"/, 'no code form without an authenticator app or recovery codes');

    // Another authenticator's answer (a passkey of nobody here) proves nothing.
    const options = await member.postJson(
      '/reauthenticate/passkey/options',
      {},
      { from: '/reauthenticate?next=/settings/security', form: '/reauthenticate/passkey' },
    );
    const stranger = new SoftAuthenticator(ORIGIN);
    stranger.register((await newBrowserOptions(h)).registration);
    const wrong = await member.postJson(
      '/reauthenticate/passkey',
      { credential: stranger.assert(options.json()), next: '/settings/security' },
      { from: '/reauthenticate?next=/settings/security', form: '/reauthenticate/passkey' },
    );
    assert.equal(wrong.statusCode, 422);
    assert.equal((await sensitive(member)).headers.location?.startsWith('/reauthenticate'), true, 'still stale');

    const fresh = await member.postJson(
      '/reauthenticate/passkey/options',
      {},
      { from: '/reauthenticate?next=/settings/security', form: '/reauthenticate/passkey' },
    );
    const proved = await member.postJson(
      '/reauthenticate/passkey',
      { credential: key.assert(fresh.json()), next: '/settings/security' },
      { from: '/reauthenticate?next=/settings/security', form: '/reauthenticate/passkey' },
    );
    assert.deepEqual([proved.statusCode, proved.json()], [200, { next: '/settings/security' }]);
    const start = await sensitive(member);
    assert.equal(start.headers.location, '/settings/security/totp', 'the change goes through after the passkey');

    // Enrol an authenticator app (within the window), let the window pass, confirm with a code.
    const secret = /<code class="totp-secret">([A-Z2-7 ]+)<\/code>/
      .exec((await member.get('/settings/security/totp')).body)![1]!
      .replaceAll(' ', '');
    const on = await member.post('/settings/security/totp', { code: codeAt(secret, h.clock.ms) }, { from: '/settings/security/totp' });
    assert.equal(on.statusCode, 200);
    h.clock.ms += 11 * 60_000;
    assert.match(String((await sensitive(member)).headers.location), /^\/reauthenticate/);
    const badCode = await member.post(
      '/reauthenticate?next=/settings/security',
      { method: 'totp', code: '000000' === codeAt(secret, h.clock.ms) ? '111111' : '000000' },
      { from: '/reauthenticate?next=/settings/security' },
    );
    assert.equal(badCode.statusCode, 422);
    assert.match(badCode.body, /That code is not valid/);
    const goodCode = await member.post(
      '/reauthenticate?next=/settings/security',
      { method: 'totp', code: codeAt(secret, h.clock.ms) },
      { from: '/reauthenticate?next=/settings/security' },
    );
    assert.deepEqual([goodCode.statusCode, goodCode.headers.location], [303, '/settings/security']);

    const events = await h.runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'details'])
      .where('event', 'like', 'reauthenticate.%')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      events.map((e) => [e.event, (JSON.parse(e.details) as { method: string }).method]),
      [
        ['reauthenticate.failure', 'passkey'],
        ['reauthenticate.success', 'passkey'],
        ['reauthenticate.failure', 'totp'],
        ['reauthenticate.success', 'totp'],
      ],
    );
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] an admin's second-factor reset of an account whose only factor is a passkey removes the passkeys too: the password alone signs in again`, async (t) => {
    const h = await waysTest(t, backend);
    const owner = await memberBrowser(h.app, h.runtime);
    await addPasskey(owner);
    const ownerId = (
      await h.runtime.db.kysely.selectFrom('users').select('id').where('username', '=', owner.username).executeTakeFirstOrThrow()
    ).id;
    assert.equal(await h.app.twoFactor.required(ownerId), true, 'a passkey is a second factor');
    const boss = await makeUser(h.app, h.runtime, `boss${ownerId}`, 'admin');
    const admin = await loggedInBrowser(h.app, { email: boss.email, password: STRONG_PASSWORD, username: boss.username });
    const reset = await admin.post(`/admin/users/${ownerId}/two-factor/reset`, {}, { from: `/admin?q=${owner.username}` });
    assert.equal(reset.statusCode, 303);
    assert.equal(await h.app.twoFactor.required(ownerId), false);
    assert.deepEqual(await h.app.passkeys.list(ownerId), []);
    const audit = await h.runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'two-factor.reset')
      .executeTakeFirstOrThrow();
    assert.equal((JSON.parse(audit.details) as { passkeys: number }).passkeys, 1);
    const again = Object.assign(newBrowser(h.app, { username: owner.username }), { email: owner.email, password: owner.password });
    const login = await again.post('/login', { email: owner.email, password: owner.password }, { from: '/login' });
    assert.deepEqual([login.statusCode, login.headers.location], [303, '/'], 'no second step any more');
  });
}

/** Registration options from a throwaway member of the same app: a passkey that belongs to nobody in the test. */
async function newBrowserOptions(h: WaysTest): Promise<{ registration: Parameters<SoftAuthenticator['register']>[0] }> {
  const other = await memberBrowser(h.app, h.runtime);
  const res = await other.postJson('/settings/passkeys/options', {}, { from: '/settings/security', form: '/settings/passkeys' });
  return { registration: res.json() };
}

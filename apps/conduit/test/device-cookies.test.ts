import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { signerFactory } from '@fastify/cookie';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Config } from 'bastion';
import { BACKENDS, randomKey, TestClient, type TestResponse, deriveKeys, DEVICE_COOKIE_MAX_AGE, LOGIN_RULES } from 'bastion/testing';
import { createUser, isLoggedIn, type TestUser } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "login backoff", after OWASP's "Slow Down Online Guessing Attacks with Device
// Cookies": an attacker who spreads wrong passwords over many addresses puts the account in
// its all-sources backoff (one attempt a minute, which the attacker takes), but a browser that
// signed in to the account before carries a signed device cookie and still gets in. The cookie
// must be this account's and made by this server; it never lifts the per-IP limits, and one
// that keeps failing is trusted no more. Each browser here comes from its own address (through
// the trusted proxy's X-Forwarded-For).

const PROXY = { TRUST_PROXY: '127.0.0.1' };
const WRONG = 'not the password at all 123';
let nextHost = 1;
const address = (): string => `198.51.${(nextHost >> 8) & 255}.${nextHost++ & 255}`;

/** A browser on a new address of its own. */
const browserAt = (app: FastifyInstance, ip = address(), headers: Record<string, string> = {}): TestClient =>
  new TestClient(app, { headers: { 'x-forwarded-for': ip, ...headers } });

const deviceCookieName = (user: TestUser): string => `device-${user.id}`;

/** Wrong passwords through the API, each from a new address: enough to put the account in backoff and take this minute's attempt. */
async function putInBackoff(app: FastifyInstance, user: TestUser): Promise<void> {
  for (let i = 0; i <= LOGIN_RULES.accountWindow.points; i++) {
    const res = await attackerTries(app, user);
    assert.equal(res.statusCode, 401, `attempt ${i + 1} is checked`);
  }
}

/** One wrong password from a new address; right after it the minute's attempt is taken whatever the answer. */
const attackerTries = (app: FastifyInstance, user: TestUser): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'POST',
    url: '/api/users/login',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address() },
    payload: JSON.stringify({ user: { email: user.email, password: WRONG } }),
  });

/** A browser that has signed in to `user` through the form (and signed out again, keeping its device cookie). */
async function ownersBrowser(app: FastifyInstance, user: TestUser): Promise<TestClient> {
  const browser = browserAt(app);
  assert.equal((await browser.login(user.email, user.password)).statusCode, 303);
  assert.ok(browser.jar.has(deviceCookieName(user)), 'a device cookie after signing in');
  assert.equal((await browser.submit('/settings', '/logout', {})).statusCode, 303);
  assert.ok(browser.jar.has(deviceCookieName(user)), 'kept after signing out');
  return browser;
}

const setCookieOf = (res: TestResponse, name: string) => res.cookies.find((c) => c.name === name);

for (const backend of BACKENDS) {
  test(`[${backend}] an attacker spreading failures over addresses puts the account in backoff: a new browser gets 429, the owner's browser that signed in before gets in`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, PROXY);
    const owner = await createUser(runtime);
    const browser = await ownersBrowser(app, owner);
    await putInBackoff(app, owner);

    const stranger = browserAt(app);
    const refused = await stranger.login(owner.email, owner.password);
    assert.equal(refused.statusCode, 429, 'the right password from a browser without the cookie waits');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(await isLoggedIn(stranger), false);

    assert.equal((await attackerTries(app, owner)).statusCode, 429, 'the attacker is still held back');
    const res = await browser.login(owner.email, owner.password);
    assert.equal(res.statusCode, 303, 'the owner gets in');
    assert.equal(await isLoggedIn(browser), true);
    assert.ok(setCookieOf(res, deviceCookieName(owner)), 'and is given a new device cookie');
    assert.equal((await attackerTries(app, owner)).statusCode, 429, "the owner's sign-in does not lift the backoff for others");
  });

  test(`[${backend}] a forged, tampered, foreign-key or other account's device cookie gives no exemption, and never a 500`, async (t) => {
    const { app, runtime, config } = await startTestApp(t, backend, PROXY);
    const owner = await createUser(runtime);
    const other = await createUser(runtime);
    const good = (await ownersBrowser(app, owner)).jar.get(deviceCookieName(owner))!;
    const others = (await ownersBrowser(app, other)).jar.get(deviceCookieName(other))!;
    await putInBackoff(app, owner);

    const value = decodeURIComponent(good);
    const [id, nonce, sig] = value.split('.') as [string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const signWith = (keys: Pick<Config, 'secretKey' | 'secretKeyFallbacks'>, text: string) =>
      signerFactory(deriveKeys(keys as Config, 'device-cookie')).sign(text);
    const ownName = deviceCookieName(owner);
    const attempts: [string, string, string][] = [
      [
        'forged: a made-up nonce and signature',
        ownName,
        `${owner.id}.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64').replace(/=/g, '')}`,
      ],
      ['tampered signature', ownName, `${id}.${nonce}.${flip(sig)}`],
      ['another nonce under the signature', ownName, `${id}.${flip(nonce)}.${sig}`],
      ['unsigned', ownName, `${id}.${nonce}`],
      ["another account's cookie, as it was issued", deviceCookieName(other), others],
      ["another account's cookie under this account's name", ownName, others],
      ['signed with another SECRET_KEY', ownName, signWith({ secretKey: randomKey(), secretKeyFallbacks: [] }, `${owner.id}.${nonce}`)],
      ['signed with the key for session cookies', ownName, signerFactory(deriveKeys(config, 'cookie')).sign(`${owner.id}.${nonce}`)],
      ['garbage', ownName, 'x'.repeat(3000)],
      ['not even valid encoding', ownName, '%%%;;'],
    ];
    for (const [what, name, cookie] of attempts) {
      // Right before each, the attacker takes this minute's attempt again.
      assert.ok([401, 429].includes((await attackerTries(app, owner)).statusCode));
      const browser = browserAt(app);
      browser.jar.set(name, cookie);
      const res = await browser.login(owner.email, owner.password);
      assert.equal(res.statusCode, 429, what);
    }
    // The genuine cookie, sent the same way, does get in: the refusals above are the cookies'.
    assert.ok([401, 429].includes((await attackerTries(app, owner)).statusCode));
    const genuine = browserAt(app);
    genuine.jar.set(ownName, good);
    assert.equal((await genuine.login(owner.email, owner.password)).statusCode, 303);
  });

  test(`[${backend}] a device cookie signed under the previous SECRET_KEY still exempts after the key is rotated`, async (t) => {
    const previous = randomKey();
    const { app, runtime } = await startTestApp(t, backend, { ...PROXY, SECRET_KEY: randomKey(), SECRET_KEY_FALLBACKS: previous });
    const owner = await createUser(runtime);
    await putInBackoff(app, owner);
    const cookie = signerFactory(deriveKeys({ secretKey: previous, secretKeyFallbacks: [] } as unknown as Config, 'device-cookie')).sign(
      `${owner.id}.${randomBytes(16).toString('base64url')}`,
    );
    const browser = browserAt(app);
    browser.jar.set(deviceCookieName(owner), cookie);
    assert.equal((await browser.login(owner.email, owner.password)).statusCode, 303);
  });

  test(`[${backend}] the device cookie does not lift the per-IP limits nor the account+IP block`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, PROXY);
    const owner = await createUser(runtime);
    const browser = await ownersBrowser(app, owner);
    // From the owner's own address, five wrong passwords for other accounts: the per-IP minute is spent.
    for (let i = 0; i < LOGIN_RULES.ipMinute.points; i++)
      assert.equal((await browser.login(`someone${i}@example.com`, WRONG)).statusCode, 422);
    const perIp = await browser.login(owner.email, owner.password);
    assert.equal(perIp.statusCode, 429);
    assert.ok(Number(perIp.headers['retry-after']) <= 60);

    // From another address of the owner's, five wrong passwords for the account itself, with the cookie.
    const cookie = browser.jar.get(deviceCookieName(owner))!;
    const second = browserAt(app);
    second.jar.set(deviceCookieName(owner), cookie);
    for (let i = 0; i < LOGIN_RULES.accountIp.points; i++) assert.equal((await second.login(owner.email, WRONG)).statusCode, 422);
    const blocked = await second.login(owner.email, owner.password);
    assert.equal(blocked.statusCode, 429);
    assert.ok(
      Number(blocked.headers['retry-after']) > 60,
      `the account+IP block (Retry-After ${blocked.headers['retry-after']}), not only the minute`,
    );
  });

  test(`[${backend}] a device cookie's failures count against the device, not the account; after 10 the device is trusted no more`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, PROXY);
    const owner = await createUser(runtime);
    const stolen = (await ownersBrowser(app, owner)).jar.get(deviceCookieName(owner))!;
    const laptop = await ownersBrowser(app, owner);
    // A thief with the cookie guesses from a new address each time (past the per-IP limits).
    for (let i = 0; i < LOGIN_RULES.device.points; i++) {
      const thief = browserAt(app);
      thief.jar.set(deviceCookieName(owner), stolen);
      assert.equal((await thief.login(owner.email, WRONG)).statusCode, 422, `guess ${i + 1}`);
    }
    const lockouts = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'login.lockout').execute();
    assert.deepEqual(
      lockouts.map((r) => JSON.parse(r.details).scope),
      ['device'],
      'the device lockout is audited once',
    );
    // Those ten did not count against the account: a browser without the cookie is not slowed.
    assert.equal((await browserAt(app).login(owner.email, owner.password)).statusCode, 303);

    await putInBackoff(app, owner);
    const thief = browserAt(app);
    thief.jar.set(deviceCookieName(owner), stolen);
    assert.equal(
      (await thief.login(owner.email, owner.password)).statusCode,
      429,
      'the worn-out cookie is ignored, even with the right password',
    );
    assert.equal((await laptop.login(owner.email, owner.password)).statusCode, 303, "the owner's other browser still gets in");
  });

  test(`[${backend}] the device cookie: named for the account, HttpOnly, SameSite=Strict, Path=/, a year long; set on sign-in through the pages (not on registration, which signs nobody in), never by the API`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, PROXY);
    const owner = await createUser(runtime);
    const res = await browserAt(app).login(owner.email, owner.password);
    const c = setCookieOf(res, deviceCookieName(owner));
    assert.ok(c);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.equal(c.domain, undefined);
    assert.equal(c.maxAge, DEVICE_COOKIE_MAX_AGE);
    assert.ok(DEVICE_COOKIE_MAX_AGE >= 365 * 24 * 3600);
    assert.notEqual(c.secure, true, 'not Secure outside production (plain-HTTP development)');
    assert.match(
      decodeURIComponent(c.value),
      new RegExp(`^${owner.id}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9+/]{43}$`),
      'the account id, a nonce and a signature',
    );
    assert.doesNotMatch(decodeURIComponent(c.value), new RegExp(owner.email.replace(/\./g, '\\.')), 'the id, never the email');
    const again = setCookieOf(await browserAt(app).login(owner.email, owner.password), deviceCookieName(owner));
    assert.notEqual(again?.value, c.value, 'a new nonce for every sign-in');

    const wrong = await browserAt(app).login(owner.email, WRONG);
    assert.equal(wrong.statusCode, 422);
    assert.equal(wrong.cookies.filter((x) => x.name.startsWith('device-')).length, 0, 'nothing for a failed sign-in');

    const viaApi = await app.inject({
      method: 'POST',
      url: '/api/users/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ user: { email: owner.email, password: owner.password } }),
    });
    assert.equal(viaApi.statusCode, 200);
    assert.equal(viaApi.headers['set-cookie'], undefined, 'the API sets no cookie');

    const newcomer = browserAt(app);
    const registered = await newcomer.submit('/register', '/register', {
      username: 'newcomer',
      email: 'newcomer@example.com',
      password: `Correct ${randomBytes(9).toString('base64url')} horse battery`,
    });
    assert.equal(registered.statusCode, 303);
    await app.signUps.settled();
    const row = await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', 'newcomer').executeTakeFirstOrThrow();
    // Registration answers a taken address exactly as a new one (packages/bastion/src/pages/auth-pages.ts): a
    // device cookie here would tell them apart. The browser is known once it signs in.
    assert.ok(
      !newcomer.jar.has(`device-${row.id}`) && ![...newcomer.jar.keys()].some((name) => name.startsWith('device-')),
      'registration sets no device cookie',
    );
  });

  test(`[${backend}] in production the device cookie is __Host-device-<id> and Secure`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {
      NODE_ENV: 'production',
      PUBLIC_ORIGIN: 'https://conduit.example.com',
      ...PROXY,
    });
    const owner = await createUser(runtime);
    const res = await browserAt(app, address(), { 'x-forwarded-proto': 'https' }).login(owner.email, owner.password);
    assert.equal(res.statusCode, 303);
    assert.equal(setCookieOf(res, deviceCookieName(owner)), undefined);
    const c = setCookieOf(res, `__Host-device-${owner.id}`);
    assert.ok(c);
    assert.equal(c.secure, true);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.equal(c.domain, undefined);
  });
}

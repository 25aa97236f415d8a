import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime } from 'bastion';
import { BACKENDS, TestClient } from 'bastion/testing';
import { createUser, isLoggedIn } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

const ORIGIN = 'http://127.0.0.1:3000';

async function csrfRejections(runtime: Runtime): Promise<Array<Record<string, unknown>>> {
  const rows = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'csrf.reject').execute();
  return rows.map((r) => JSON.parse(r.details) as Record<string, unknown>);
}

for (const backend of BACKENDS) {
  test(`[${backend}] CSRF: a form post without a token is refused with 403 and audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const res = await browser.post('/logout', {}, { csrf: false });
    assert.equal(res.statusCode, 403);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.match(res.body, /did not come from this site/);
    assert.equal(await isLoggedIn(browser), true, 'the forged logout did nothing');
    assert.deepEqual(await csrfRejections(runtime), [{ reason: 'missing-token', method: 'POST', path: '/logout' }]);
  });

  test(`[${backend}] CSRF: another session's token is refused`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const attacker = await createUser(runtime);
    const victim = await createUser(runtime);
    const evil = new TestClient(app);
    await evil.login(attacker.email, attacker.password);
    const attackerToken = await evil.csrf('/settings');
    const browser = new TestClient(app);
    await browser.login(victim.email, victim.password);
    const res = await browser.post('/settings/logout-everywhere', { _csrf: attackerToken }, { csrf: false });
    assert.equal(res.statusCode, 403);
    assert.equal(await isLoggedIn(browser), true);
    assert.equal((await csrfRejections(runtime))[0]?.reason, 'bad-token');
  });

  test(`[${backend}] CSRF: a foreign Origin is refused even with a valid token`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    for (const origin of ['https://evil.example', 'null', `${ORIGIN}.evil.example`, 'http://127.0.0.1:3001']) {
      const res = await browser.submit('/settings', '/logout', {}, { origin });
      assert.equal(res.statusCode, 403, origin);
    }
    const viaReferer = await browser.submit('/settings', '/logout', {}, { referer: 'https://evil.example/page' });
    assert.equal(viaReferer.statusCode, 403);
    assert.equal(await isLoggedIn(browser), true);
    // Audited once a minute per client and reason (see the damping test below).
    const reasons = (await csrfRejections(runtime)).map((r) => r.reason);
    assert.deepEqual(reasons, ['origin', 'referer']);
  });

  test(`[${backend}] CSRF: Sec-Fetch-Site cross-site or same-site is refused even with a valid token`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    for (const site of ['cross-site', 'same-site']) {
      const res = await browser.submit('/settings', '/logout', {}, { 'sec-fetch-site': site });
      assert.equal(res.statusCode, 403, site);
    }
    assert.equal(await isLoggedIn(browser), true);
    assert.deepEqual(
      (await csrfRejections(runtime)).map((r) => r.reason),
      ['fetch-site'],
    );
  });

  test(`[${backend}] CSRF: a same-origin post with the page's token goes through`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const res = await browser.submit(
      '/settings',
      '/logout',
      {},
      { origin: ORIGIN, 'sec-fetch-site': 'same-origin', referer: `${ORIGIN}/settings` },
    );
    assert.equal(res.statusCode, 303);
    assert.equal(await isLoggedIn(browser), false);
    assert.deepEqual(await csrfRejections(runtime), []);
  });

  test(`[${backend}] CSRF: the anonymous login token is bound to its own pre-session cookie`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const other = new TestClient(app);
    const othersToken = await other.csrf('/login');
    const browser = new TestClient(app);
    await browser.get('/login');
    assert.ok(browser.jar.has('csrf'), 'the login form comes with its pre-session cookie');
    const stolen = await browser.post('/login', { email: user.email, password: user.password, _csrf: othersToken }, { csrf: false });
    assert.equal(stolen.statusCode, 403);
    const none = await new TestClient(app).post(
      '/login',
      { email: user.email, password: user.password, _csrf: othersToken },
      { csrf: false },
    );
    assert.equal(none.statusCode, 403, 'no pre-session cookie, no valid token');
    assert.equal((await browser.login(user.email, user.password)).statusCode, 303);
  });

  test(`[${backend}] CSRF: the token changes with the session id, so a pre-login token is dead after login`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    const anonymous = await browser.csrf('/login');
    await browser.post('/login', { email: user.email, password: user.password, _csrf: anonymous }, { csrf: false });
    const first = await browser.csrf('/settings');
    assert.equal((await browser.post('/logout', { _csrf: anonymous }, { csrf: false })).statusCode, 403);
    // A new login (new session id) retires the previous session's token too.
    const again = await browser.submit('/login', '/login', { email: user.email, password: user.password });
    assert.equal(again.statusCode, 303);
    assert.equal((await browser.post('/logout', { _csrf: first }, { csrf: false })).statusCode, 403);
    assert.equal(await isLoggedIn(browser), true);
  });

  test(`[${backend}] CSRF: the token is masked afresh in every response (BREACH), and every masking of it is accepted`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push(await browser.csrf('/settings'));
    assert.equal(new Set(tokens).size, tokens.length, 'no two responses print the same token text');
    // Each is the same secret under another pad: any of them is good for the session.
    assert.equal((await browser.post('/settings/logout-everywhere', { _csrf: tokens[3]! }, { csrf: false })).statusCode < 400, true);
  });

  test(`[${backend}] CSRF: a malformed, truncated or unmasked token is refused with 403, never a 500`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const token = await browser.csrf('/settings');
    const pad = token.slice(0, 43);
    const junk = [
      token.slice(0, 85),
      `${token}A`,
      `${token.slice(0, 40)}!${token.slice(41)}`,
      `${token.slice(0, 40)}*${token.slice(40)}`,
      pad,
      'A'.repeat(86),
      'x'.repeat(100_000),
      '='.repeat(86),
    ];
    for (const bad of junk) {
      const res = await browser.post('/logout', { _csrf: bad }, { csrf: false });
      assert.equal(res.statusCode, 403, `${bad.slice(0, 20)}… (${bad.length})`);
    }
    assert.equal(await isLoggedIn(browser), true);
  });

  test(`[${backend}] CSRF: a flood of rejected posts writes one audit row per client and reason a minute`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    for (let i = 0; i < 20; i++) assert.equal((await browser.post('/logout', {}, { csrf: false })).statusCode, 403);
    for (let i = 0; i < 5; i++) assert.equal((await browser.post('/logout', { _csrf: 'forged' }, { csrf: false })).statusCode, 403);
    assert.deepEqual(
      (await csrfRejections(runtime)).map((r) => r.reason),
      ['missing-token', 'bad-token'],
    );
  });

  test(`[${backend}] CSRF: /api takes no cookies, so it needs no token`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const res = await app.inject({
      method: 'POST',
      url: '/api/users/login',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      payload: { user: { email: 'a@b.example', password: 'x' } },
    });
    assert.notEqual(res.statusCode, 403);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BACKENDS, TestClient, sha256Hex } from 'bastion/testing';
import { apiProbe, createUser, isLoggedIn } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

const DAY = 24 * 60 * 60_000;
const probe = (app: FastifyInstance, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/api/test-probe', headers });

for (const backend of BACKENDS) {
  test(`[${backend}] API token: an issued token authenticates /api and only its hash is stored`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const token = await app.apiTokens.issue(user.id);
    assert.match(token, /^[\w-]{43}$/, '256 random bits, not a JWT');
    const res = await probe(app, { authorization: `Token ${token}` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { username: user.username });
    assert.equal(res.headers['cache-control'], 'no-store');
    const rows = await runtime.db.kysely.selectFrom('api_tokens').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.token_hash, sha256Hex(token));
    assert.ok(!JSON.stringify(rows).includes(token));
  });

  test(`[${backend}] API token: missing, malformed, unknown or wrong-scheme tokens get 401`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const token = await app.apiTokens.issue(user.id);
    const attempts = [
      undefined,
      `Bearer ${token}`,
      `Token ${token}x`,
      `Token ${'A'.repeat(43)}`,
      'Token',
      `Token  ${token} extra`,
      'Token eyJhbGciOiJub25lIn0.eyJ1c2VyIjoxfQ.',
      `token ${sha256Hex(token)}`,
    ];
    for (const authorization of attempts) {
      const res = await probe(app, authorization === undefined ? {} : { authorization });
      assert.equal(res.statusCode, 401, String(authorization));
      assert.deepEqual(Object.keys(res.json().errors), ['body']);
    }
  });

  test(`[${backend}] API token: /api ignores a valid session cookie (401 without a token)`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    assert.equal(await isLoggedIn(browser), true);
    const res = await probe(app, { cookie: browser.cookieHeader });
    assert.equal(res.statusCode, 401);
  });

  test(`[${backend}] API token: expires after 30 days; last use is recorded at most once a minute`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const token = await app.apiTokens.issue(user.id);
    const auth = { authorization: `Token ${token}` };
    const lastUsed = async () =>
      (await runtime.db.kysely.selectFrom('api_tokens').select('last_used_at').executeTakeFirstOrThrow()).last_used_at;
    assert.equal((await probe(app, auth)).statusCode, 200);
    const first = await lastUsed();
    assert.ok(first);
    t.mock.timers.tick(30_000);
    await probe(app, auth);
    assert.equal(await lastUsed(), first, 'not rewritten within a minute');
    t.mock.timers.tick(30_000);
    await probe(app, auth);
    assert.notEqual(await lastUsed(), first);
    t.mock.timers.tick(30 * DAY - 60_000 - 1);
    assert.equal((await probe(app, auth)).statusCode, 200);
    t.mock.timers.tick(1);
    assert.equal((await probe(app, auth)).statusCode, 401);
    assert.deepEqual(await app.apiTokens.list(user.id), []);
  });

  test(`[${backend}] API token: a locked account's tokens get 401`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const token = await app.apiTokens.issue(user.id);
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('id', '=', user.id).execute();
    assert.equal((await probe(app, { authorization: `Token ${token}` })).statusCode, 401);
  });

  test(`[${backend}] API token: revoked from the settings page, it gets 401; nobody can revoke another user's token`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const other = await createUser(runtime);
    const mine = await app.apiTokens.issue(user.id, 'laptop');
    const kept = await app.apiTokens.issue(user.id, 'phone');
    const theirs = await app.apiTokens.issue(other.id);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const page = await browser.get('/settings');
    assert.match(page.body, /laptop/);
    assert.ok(!page.body.includes(mine), 'the token itself is never shown again');
    const [phone, laptop] = await app.apiTokens.list(user.id);
    assert.equal(laptop!.label, 'laptop');
    const [theirRow] = await app.apiTokens.list(other.id);

    const cross = await browser.submit('/settings', '/settings/tokens/revoke', { token: String(theirRow!.id) });
    assert.equal(cross.statusCode, 404);
    assert.equal((await probe(app, { authorization: `Token ${theirs}` })).statusCode, 200);

    const res = await browser.submit('/settings', '/settings/tokens/revoke', { token: String(laptop!.id) });
    assert.equal(res.statusCode, 303);
    assert.equal((await probe(app, { authorization: `Token ${mine}` })).statusCode, 401);
    assert.equal((await probe(app, { authorization: `Token ${kept}` })).statusCode, 200);
    assert.deepEqual(
      (await app.apiTokens.list(user.id)).map((k) => k.id),
      [phone!.id],
    );
    const audit = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['actor_id', 'details'])
      .where('event', '=', 'token.revoke')
      .execute();
    assert.deepEqual(audit, [{ actor_id: user.id, details: JSON.stringify({ tokenId: laptop!.id }) }]);
  });

  test(`[${backend}] log out everywhere ends every session and revokes every API token`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { extraRoutes: { api: apiProbe } });
    const user = await createUser(runtime);
    const token = await app.apiTokens.issue(user.id);
    const phone = new TestClient(app);
    const laptop = new TestClient(app);
    await phone.login(user.email, user.password);
    await laptop.login(user.email, user.password);
    const res = await laptop.submit('/settings', '/settings/logout-everywhere', {});
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login');
    assert.equal(await isLoggedIn(laptop), false);
    assert.equal(await isLoggedIn(phone), false);
    assert.equal((await probe(app, { authorization: `Token ${token}` })).statusCode, 401);
  });
}

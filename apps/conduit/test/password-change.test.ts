import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { BACKENDS, loggedInBrowser, newBrowser, registeredBrowser } from 'bastion/testing';
import { api } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "session rotation": a password change ends every other session and API token, and
// moves this browser to a new session id. The attacker here holds a stolen cookie or token.

const NEW_PASSWORD = 'a whole new sentence for 2026';
const isLoggedIn = (body: string, username: string) => body.includes(`href="/profile/${username}"`);

for (const backend of BACKENDS) {
  test(`[${backend}] after a password change the old cookie, a stolen cookie and an API token are all dead`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const owner = await registeredBrowser(app);
    const thief = await loggedInBrowser(app, owner); // a second session, as if its cookie were stolen
    const token = (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).json()
      .user.token as string;
    const oldCookie = owner.cookieHeader;

    const res = await owner.post('/settings/password', { currentPassword: owner.password, password: NEW_PASSWORD }, { from: '/settings' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/settings?done=password');
    assert.ok(isLoggedIn((await owner.get('/settings')).body, owner.username), 'the browser that changed it stays in, on a new session');

    assert.equal((await thief.get('/settings')).statusCode, 303, 'the other session is sent to log in');
    const replay = await app.inject({ url: '/settings', headers: { cookie: oldCookie } });
    assert.equal(replay.statusCode, 303, 'the pre-change cookie is dead');
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } })).statusCode, 401);

    const events = await runtime.db.kysely.selectFrom('audit_log').select('event').where('event', '=', 'password.change').execute();
    assert.equal(events.length, 1);
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } })).statusCode,
      200,
    );
  });

  test(`[${backend}] a password change needs the current password, refuses common ones, and keeps the old one on refusal`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const owner = await registeredBrowser(app);
    const wrong = await owner.post(
      '/settings/password',
      { currentPassword: 'not the password at all', password: NEW_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(wrong.statusCode, 422);
    assert.match(wrong.body, /current password is invalid/);
    const common = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: 'passwordpassword' },
      { from: '/settings' },
    );
    assert.equal(common.statusCode, 422);
    const short = await owner.post('/settings/password', { currentPassword: owner.password, password: 'short' }, { from: '/settings' });
    assert.equal(short.statusCode, 422);
    assert.ok(isLoggedIn((await owner.get('/settings')).body, owner.username), 'refusals end no session');
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).statusCode,
      200,
      'the old password still works',
    );
  });

  test(`[${backend}] guessing the current password from a stolen session trips the login limit`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const thief = await registeredBrowser(app);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (
          await thief.post(
            '/settings/password',
            { currentPassword: `guess number ${i} here`, password: NEW_PASSWORD },
            { from: '/settings' },
          )
        ).statusCode,
      );
    }
    assert.deepEqual(statuses.slice(0, 5), [422, 422, 422, 422, 422]);
    assert.equal(statuses[5], 429);
  });

  test(`[${backend}] the register and settings forms refuse a username that differs only in case`, async (t) => {
    const { app } = await startTestApp(t, backend);
    await registeredBrowser(app, { username: 'Alice_Case' });
    const impostor = newBrowser(app, { username: 'alice_case' });
    const reg = await impostor.post(
      '/register',
      { username: 'alice_case', email: impostor.email, password: impostor.password },
      { from: '/register' },
    );
    assert.equal(reg.statusCode, 422);
    assert.match(reg.body, /has already been taken/);
    const other = await registeredBrowser(app);
    const res = await other.post('/settings', { image: '', username: 'ALICE_CASE', bio: '', email: other.email }, { from: '/settings' });
    assert.equal(res.statusCode, 422);
    assert.match(res.body, /has already been taken/);
  });

  test(`[${backend}] if the other sessions cannot be ended, the password is not changed and the API token still works`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const owner = await registeredBrowser(app);
    const token = (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).json()
      .user.token as string;
    // The session store failing mid-change (Redis going away) is injected at its one seam.
    const failing = mock.method(app.sessions, 'revokeAllForUser', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    });
    t.after(() => failing.mock.restore());
    const viaPage = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: NEW_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(viaPage.statusCode, 503);
    const viaApi = await app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Token ${token}` },
      payload: { user: { password: NEW_PASSWORD, currentPassword: owner.password } },
    });
    assert.equal(viaApi.statusCode, 503);
    failing.mock.restore();
    assert.equal(
      (await app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } })).statusCode,
      200,
      'nothing was half-done: the token lives',
    );
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } })).statusCode,
      200,
      'the old password still works',
    );
    assert.equal(
      (await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } })).statusCode,
      401,
    );
  });
}

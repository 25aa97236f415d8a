import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import argon2 from 'argon2';
import type { FastifyInstance } from 'fastify';
import { BACKENDS, loggedInBrowser, newBrowser, type PageBrowser, registeredBrowser, type TestResponse } from 'bastion/testing';
import { api } from './helpers/conduit-api.js';
import { pauseNextCall } from './helpers/pause-next-call.js';
import { startTestApp } from './helpers/test-app.js';

// The race a password change or "log out everywhere" must win (migration 004): an attacker who
// still knows the old password (or holds the password the owner is about to log out) keeps
// logins in flight, hoping one passes its password check just before the owner's change and
// creates its session or token just after the change revoked everything. The interleaving is
// played out step by step: the attacker's check, then the owner's change, then the attacker's
// session or token. Both must be dead on arrival.

const NEW_PASSWORD = 'the owner picked a fresh passphrase';

for (const backend of BACKENDS) {
  /** An API login paused just after its password check passed; `finish()` lets it make its token. */
  const attackerLogin = (t: TestContext, app: FastifyInstance, email: string, password: string) => {
    const pause = pauseNextCall(t, app.loginGuard, 'succeeded');
    const login = api(app, 'POST', '/api/users/login', { body: { user: { email, password } } });
    return {
      checked: pause.started,
      finish: async () => {
        pause.release();
        return login;
      },
    };
  };
  /** The login's answer is a token, and that token is dead. */
  const assertDeadToken = async (app: FastifyInstance, late: TestResponse) => {
    assert.equal(late.statusCode, 200, 'the login in flight had passed its password check');
    const me = await app.inject({ url: '/api/user', headers: { authorization: `Token ${late.json().user.token}` } });
    assert.equal(me.statusCode, 401, 'the late token is dead');
  };

  test(`[${backend}] a login checked before a password change cannot create a live token after it`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const owner = await registeredBrowser(app);

    // 1. The attacker's login passes its password check with the old password.
    const attacker = attackerLogin(t, app, owner.email, owner.password);
    await attacker.checked;
    // 2. The owner changes the password; every session and token is revoked.
    const changed = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: NEW_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(changed.statusCode, 303);
    // 3. The attacker's login now makes its token. (Its session, made by the real POST /login,
    // is played out by the paused-login tests below.)
    await assertDeadToken(app, await attacker.finish());

    // The owner's own new session and a login with the new password work.
    assert.equal((await owner.get('/settings')).statusCode, 200);
    const fresh = await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } });
    assert.equal(fresh.statusCode, 200);
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${fresh.json().user.token}` } })).statusCode, 200);
  });

  test(`[${backend}] the same race through PUT /api/user: a token from a login checked before the change is dead`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const reg = await api(app, 'POST', '/api/users', {
      body: { user: { username: 'racer', email: 'racer@example.com', password: 'an old but decent passphrase' } },
    });
    const ownerToken = reg.json().user.token as string;
    const attacker = attackerLogin(t, app, 'racer@example.com', 'an old but decent passphrase');
    await attacker.checked;
    const put = await app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Token ${ownerToken}` },
      payload: { user: { password: NEW_PASSWORD, currentPassword: 'an old but decent passphrase' } },
    });
    assert.equal(put.statusCode, 200);
    await assertDeadToken(app, await attacker.finish());
    assert.equal(
      (await app.inject({ url: '/api/user', headers: { authorization: `Token ${put.json().user.token}` } })).statusCode,
      200,
      'the token the change returned works',
    );
  });

  // "Log out everywhere" and a password change each end every login, including one still under
  // way: it read the user's auth version before its password check and must not come out of it
  // with a live token or session. The login is paused at a real point of its path: inside the
  // argon2 verification (which holds a hashing slot, so the owner's own password change could
  // not run meanwhile on a machine with one slot), or just after the check passed.
  const logOutEverywhere = async (owner: PageBrowser): Promise<string> => {
    const res = await owner.post('/settings/logout-everywhere', {}, { from: '/settings' });
    assert.equal(res.statusCode, 303);
    return owner.password;
  };
  const changePassword = async (owner: PageBrowser): Promise<string> => {
    const res = await owner.post('/settings/password', { currentPassword: owner.password, password: NEW_PASSWORD }, { from: '/settings' });
    assert.equal(res.statusCode, 303, res.body.slice(0, 300));
    return NEW_PASSWORD;
  };
  const cases = [
    {
      what: 'log out everywhere while its password is being verified',
      voidLogins: logOutEverywhere,
      pause: (t: TestContext) => pauseNextCall(t, argon2, 'verify'),
    },
    {
      what: 'log out everywhere after its password check passed',
      voidLogins: logOutEverywhere,
      pause: (t: TestContext, app: FastifyInstance) => pauseNextCall(t, app.loginGuard, 'succeeded'),
    },
    {
      what: 'a password change after its password check passed',
      voidLogins: changePassword,
      pause: (t: TestContext, app: FastifyInstance) => pauseNextCall(t, app.loginGuard, 'succeeded'),
    },
  ];
  for (const { what, voidLogins, pause: pauseLogin } of cases) {
    test(`[${backend}] an API login still under way gets no live token: ${what}`, async (t) => {
      const { app } = await startTestApp(t, backend);
      const owner = await registeredBrowser(app);
      const pause = pauseLogin(t, app);
      const login = api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: owner.password } } });
      await pause.started;
      const password = await voidLogins(owner);
      pause.release();
      const late = await login;
      if (late.statusCode === 200) {
        const me = await app.inject({ url: '/api/user', headers: { authorization: `Token ${late.json().user.token}` } });
        assert.equal(me.statusCode, 401, 'the token of the login in flight is dead');
      } else {
        assert.equal(late.statusCode, 401, 'or the login in flight is refused');
      }
      // A login that starts afterwards works.
      const fresh = await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password } } });
      assert.equal(fresh.statusCode, 200);
      assert.equal(
        (await app.inject({ url: '/api/user', headers: { authorization: `Token ${fresh.json().user.token}` } })).statusCode,
        200,
      );
    });

    test(`[${backend}] a form login still under way gets no live session: ${what}`, async (t) => {
      const { app } = await startTestApp(t, backend);
      const owner = await registeredBrowser(app);
      const attacker = newBrowser(app);
      const pause = pauseLogin(t, app);
      const login = attacker.post('/login', { email: owner.email, password: owner.password }, { from: '/login' });
      await pause.started;
      const password = await voidLogins(owner);
      pause.release();
      await login;
      assert.equal((await attacker.get('/settings')).statusCode, 303, 'the session of the login in flight is anonymous');
      const later = await loggedInBrowser(app, { email: owner.email, password, username: owner.username });
      assert.equal((await later.get('/settings')).statusCode, 200, 'a login that starts afterwards works');
    });
  }
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCredentials, findUser } from '../src/conduit/users.js';
import { BACKENDS } from './helpers/backends.js';
import { api } from './helpers/conduit-api.js';
import { newBrowser, registeredBrowser } from './helpers/login.js';
import { startTestApp } from './helpers/test-app.js';

// The race a password change must win (migration 004): an attacker who still knows the old
// password keeps logins in flight, hoping one passes its password check just before the owner's
// change and creates its session or token just after the change revoked everything. The
// interleaving is played out step by step on the real services: the attacker's check, then the
// owner's change, then the attacker's session or token. Both must be dead on arrival.

const NEW_PASSWORD = 'the owner picked a fresh passphrase';

for (const backend of BACKENDS) {
  test(`[${backend}] a login checked before a password change cannot create a live session or token after it`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = runtime.db.kysely;
    // A late session, created the way POST /login creates one, with the version its check saw.
    app.get<{ Querystring: { user: number; version: number } }>(
      '/test-late-session',
      { schema: { querystring: { type: 'object', required: ['user', 'version'], properties: { user: { type: 'integer' }, version: { type: 'integer' } } } } },
      async (request, reply) => {
        const user = await findUser(db, request.query.user);
        await app.sessions.start(request, reply, user!, request.query.version);
        return 'started';
      },
    );
    const owner = await registeredBrowser(app);

    // 1. The attacker's login passes its password check with the old password.
    const attackerCheck = await checkCredentials(db, owner.email, owner.password);
    assert.ok(attackerCheck.ok);
    // 2. The owner changes the password; every session and token is revoked.
    const changed = await owner.post('/settings/password', { current_password: owner.password, password: NEW_PASSWORD }, { from: '/settings' });
    assert.equal(changed.statusCode, 303);
    // 3. The attacker's login now makes its token and its session.
    const lateToken = await app.apiTokens.issue(attackerCheck.user.id, 'api', attackerCheck.authVersion);
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${lateToken}` } })).statusCode, 401, 'the late token is dead');
    const attacker = newBrowser(app);
    assert.equal((await attacker.get(`/test-late-session?user=${attackerCheck.user.id}&version=${attackerCheck.authVersion}`)).statusCode, 200);
    const page = await attacker.get('/settings');
    assert.equal(page.statusCode, 303, 'the late session is anonymous');

    // The owner's own new session and a login with the new password work.
    assert.equal((await owner.get('/settings')).statusCode, 200);
    const fresh = await api(app, 'POST', '/api/users/login', { body: { user: { email: owner.email, password: NEW_PASSWORD } } });
    assert.equal(fresh.statusCode, 200);
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${fresh.json().user.token}` } })).statusCode, 200);
  });

  test(`[${backend}] the same race through PUT /api/user: a token from a login checked before the change is dead`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const reg = await api(app, 'POST', '/api/users', { body: { user: { username: 'racer', email: 'racer@example.com', password: 'an old but decent passphrase' } } });
    const ownerToken = reg.json().user.token as string;
    const attackerCheck = await checkCredentials(runtime.db.kysely, 'racer@example.com', 'an old but decent passphrase');
    assert.ok(attackerCheck.ok);
    const put = await app.inject({ method: 'PUT', url: '/api/user', headers: { authorization: `Token ${ownerToken}` }, payload: { user: { password: NEW_PASSWORD } } });
    assert.equal(put.statusCode, 200);
    const late = await app.apiTokens.issue(attackerCheck.user.id, 'api', attackerCheck.authVersion);
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${late}` } })).statusCode, 401);
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${put.json().user.token}` } })).statusCode, 200, 'the token the change returned works');
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';

const register = (username: string, email: string, password = STRONG_PASSWORD) => ({ body: { user: { username, email, password } } });
const login = (email: string, password: string) => ({ body: { user: { email, password } } });

for (const backend of BACKENDS) {
  test(`[${backend}] registration returns the user with a working opaque token`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const res = await api(app, 'POST', '/api/users', register('jake', 'Jake@Example.com'));
    assert.equal(res.statusCode, 201);
    const { user } = res.json();
    assert.deepEqual(Object.keys(user).sort(), ['bio', 'email', 'image', 'token', 'username']);
    assert.equal(user.email, 'jake@example.com');
    assert.doesNotMatch(user.token, /^ey/, 'not a JWT');
    const me = await app.inject({ url: '/api/user', headers: { authorization: `Token ${user.token}` } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().user.username, 'jake');
  });

  test(`[${backend}] registration refuses a taken username (any case) and email with 422`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    await makeUser(app, runtime, 'jake');
    const dupName = await api(app, 'POST', '/api/users', register('JAKE', 'other@example.com'));
    assert.equal(dupName.statusCode, 422);
    assert.deepEqual(dupName.json().errors, { username: ['has already been taken'] });
    const dupEmail = await api(app, 'POST', '/api/users', register('other', 'JAKE@example.com'));
    assert.equal(dupEmail.statusCode, 422);
    assert.deepEqual(dupEmail.json().errors, { email: ['has already been taken'] });
  });

  test(`[${backend}] registration refuses weak passwords, bad names and smuggled role/id fields`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const weak = await api(app, 'POST', '/api/users', register('jake', 'jake@example.com', 'password'));
    assert.equal(weak.statusCode, 422);
    assert.ok(weak.json().errors.password);
    const badName = await api(app, 'POST', '/api/users', register('<script>', 'jake@example.com'));
    assert.equal(badName.statusCode, 422);
    assert.ok(badName.json().errors.username);
    const role = await api(app, 'POST', '/api/users', {
      body: { user: { username: 'jake', email: 'jake@example.com', password: STRONG_PASSWORD, role: 'admin' } },
    });
    assert.equal(role.statusCode, 422);
    assert.ok(role.json().errors.role);
    const long = await api(app, 'POST', '/api/users', register('j'.repeat(500), 'jake@example.com'));
    assert.equal(long.statusCode, 422);
  });

  test(`[${backend}] login answers an unknown email, a wrong password and a locked account identically`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const ok = await api(app, 'POST', '/api/users/login', login('JAKE@example.com', STRONG_PASSWORD));
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().user.username, 'jake');
    const wrong = await api(app, 'POST', '/api/users/login', login(jake.email, `${STRONG_PASSWORD}x`));
    const unknown = await api(app, 'POST', '/api/users/login', login('nobody@example.com', STRONG_PASSWORD));
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('id', '=', jake.id).execute();
    const locked = await api(app, 'POST', '/api/users/login', login(jake.email, STRONG_PASSWORD));
    for (const res of [wrong, unknown, locked]) {
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json().errors, { 'email or password': ['is invalid'] });
    }
    const events = await runtime.db.kysely
      .selectFrom('audit_log')
      .select('event')
      .where('event', 'in', ['login.success', 'login.failure'])
      .execute();
    assert.deepEqual(events.map((e) => e.event).sort(), ['login.failure', 'login.failure', 'login.failure', 'login.success']);
    assert.doesNotMatch(JSON.stringify(await runtime.db.kysely.selectFrom('audit_log').selectAll().execute()), new RegExp(STRONG_PASSWORD));
  });

  test(`[${backend}] GET and PUT /api/user refuse a missing or forged token with 401`, async (t) => {
    const { app } = await startTestApp(t, backend);
    for (const headers of [{}, { authorization: 'Token forged-token-value' }, { authorization: 'Bearer abc' }]) {
      assert.equal((await app.inject({ url: '/api/user', headers })).statusCode, 401);
      const put = await app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: { user: { bio: 'x' } },
      });
      assert.equal(put.statusCode, 401);
    }
  });

  test(`[${backend}] PUT /api/user changes whitelisted fields and refuses role, id and unsafe images`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    await makeUser(app, runtime, 'taken');
    const ok = await api(app, 'PUT', '/api/user', {
      user: jake,
      body: { user: { bio: 'I like dragons', image: 'https://example.com/a.png', email: jake.email } },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().user.bio, 'I like dragons');
    assert.equal(ok.json().user.token, jake.token);
    for (const user of [{ role: 'admin' }, { id: 1 }, { bio: 'x', role: 'moderator' }, { locked_at: null }]) {
      const res = await api(app, 'PUT', '/api/user', { user: jake, body: { user } });
      assert.equal(res.statusCode, 422, JSON.stringify(user));
    }
    for (const image of [
      'javascript:alert(1)',
      'data:image/png;base64,AAAA',
      '//evil.example/x.png',
      `https://x.example/${'a'.repeat(2100)}`,
    ]) {
      const res = await api(app, 'PUT', '/api/user', { user: jake, body: { user: { image } } });
      assert.equal(res.statusCode, 422, image.slice(0, 30));
    }
    const long = await api(app, 'PUT', '/api/user', { user: jake, body: { user: { bio: 'b'.repeat(2001) } } });
    assert.equal(long.statusCode, 422);
    const dup = await api(app, 'PUT', '/api/user', { user: jake, body: { user: { username: 'Taken' } } });
    assert.equal(dup.statusCode, 422);
    assert.deepEqual(dup.json().errors, { username: ['has already been taken'] });
    const row = await runtime.db.kysely
      .selectFrom('users')
      .select(['role', 'username'])
      .where('id', '=', jake.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { role: 'member', username: 'jake' });
  });

  test(`[${backend}] a password change revokes every old token and returns a fresh one`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const second = await app.apiTokens.issue(jake.id, 'other device');
    const weak = await api(app, 'PUT', '/api/user', {
      user: jake,
      body: { user: { password: 'short', currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(weak.statusCode, 422);
    const res = await api(app, 'PUT', '/api/user', {
      user: jake,
      body: { user: { password: 'a-new-Strong-passphrase-9', currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(res.statusCode, 200);
    const fresh = res.json().user.token as string;
    assert.notEqual(fresh, jake.token);
    for (const old of [jake.token, second]) {
      assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${old}` } })).statusCode, 401);
    }
    assert.equal((await app.inject({ url: '/api/user', headers: { authorization: `Token ${fresh}` } })).statusCode, 200);
    const relogin = await api(app, 'POST', '/api/users/login', login(jake.email, 'a-new-Strong-passphrase-9'));
    assert.equal(relogin.statusCode, 200);
    const audit = await runtime.db.kysely.selectFrom('audit_log').select('event').where('event', '=', 'password.change').execute();
    assert.equal(audit.length, 1);
  });
}

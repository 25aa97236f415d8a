import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "password policy" against what a cracker tries first. With a 12-character minimum
// only ~300 entries of any common-password list can match, so `letmeinletmein` passed; a
// guess-count estimate (zxcvbn) now refuses repeats, keyboard walks, famous phrases and the
// user's own names, on registration and on a password change, through both faces. The policy
// by itself (what it refuses, its reasons, its cost): packages/bastion/test/password-policy.test.ts.

const OWNER = { username: 'carol_smith', email: 'carol.smith@example.com' };

/** Random words: nothing a cracker would reach before 10^8 guesses (the full list: packages/bastion/test/password-policy.test.ts). */
const STRONG: readonly string[] = [STRONG_PASSWORD, 'glacier-tuba-marmot-41', 'velvet quarry nimbus'];

const WEAK_SAMPLE = [
  'letmeinletmein',
  'qwertyuiopasdf',
  'correcthorsebatterystaple',
  'aaaaaaaaaaaaaa',
  '1qaz2wsx3edc4rfv',
  'carol_smith1234',
];

let address = 0;
/** A registration from its own client address, so the per-IP registration limit stays out of the way. */
function registerVia(app: FastifyInstance, user: { username: string; email: string; password: string }) {
  address++;
  return app.inject({ method: 'POST', url: '/api/users', remoteAddress: `198.18.${address >> 8}.${address & 255}`, payload: { user } });
}

for (const backend of BACKENDS) {
  test(`[${backend}] API registration answers 422 {"errors":{"password":[…]}} for each weak password, 201 for strong ones`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    for (const password of WEAK_SAMPLE) {
      const res = await registerVia(app, { ...OWNER, password });
      assert.equal(res.statusCode, 422, password);
      assert.deepEqual(Object.keys(res.json().errors), ['password'], password);
      assert.equal(res.json().errors.password.length, 1);
    }
    assert.equal((await runtime.db.kysely.selectFrom('users').select('id').execute()).length, 0, 'no weak account was made');
    for (const [i, password] of STRONG.entries()) {
      const res = await registerVia(app, { username: `strong_${i}`, email: `strong_${i}@example.com`, password });
      assert.equal(res.statusCode, 201, `${password}: ${res.body}`);
    }
  });

  test(`[${backend}] the register form shows the reason for a weak password and keeps no account`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    for (const password of ['letmeinletmein', 'correcthorsebatterystaple', 'qwertyqwerty12']) {
      const visitor = newBrowser(app, { username: 'carol_smith' });
      const res = await visitor.post('/register', { username: visitor.username, email: visitor.email, password }, { from: '/register' });
      assert.equal(res.statusCode, 422, password);
      assert.match(res.body, /<li>password is (too easy to guess|a well-known phrase)/, password);
      assert.ok(!res.body.includes(password), 'the refused password is not echoed into the page');
    }
    const named = newBrowser(app, { username: 'carol_smith' });
    const own = await named.post(
      '/register',
      { username: named.username, email: named.email, password: 'Carol_Smith2024' },
      { from: '/register' },
    );
    assert.equal(own.statusCode, 422);
    assert.match(own.body, /<li>password is too similar to your username or email<\/li>/);
    assert.equal((await runtime.db.kysely.selectFrom('users').select('id').execute()).length, 0);
    await registeredBrowser(app); // a strong password (test/helpers/login.ts) still registers
  });

  test(`[${backend}] a password change to a weak password is refused on both faces and the old one keeps working`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake_walker');
    for (const password of ['letmeinletmein', 'abcabcabcabc', 'jake_walker2024', 'to be or not to be']) {
      const res = await api(app, 'PUT', '/api/user', { user: jake, body: { user: { password, currentPassword: STRONG_PASSWORD } } });
      assert.equal(res.statusCode, 422, password);
      assert.deepEqual(Object.keys(res.json().errors), ['password'], password);
    }
    const owner = await registeredBrowser(app);
    const page = await owner.post(
      '/settings/password',
      { currentPassword: owner.password, password: 'qwertyuiopasdf' },
      { from: '/settings' },
    );
    assert.equal(page.statusCode, 422);
    assert.match(page.body, /<li>new password is too easy to guess/);
    const login = await api(app, 'POST', '/api/users/login', { body: { user: { email: jake.email, password: STRONG_PASSWORD } } });
    assert.equal(login.statusCode, 200, 'the old password still works');
    const changed = await api(app, 'PUT', '/api/user', {
      user: jake,
      body: { user: { password: 'glacier-tuba-marmot-41', currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(changed.statusCode, 200, changed.body);
  });
}

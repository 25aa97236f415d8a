import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { BACKENDS, loggedInBrowser, newBrowser, PASSWORD_ADMISSION, PASSWORD_QUEUE_LIMIT, waitingForPasswordWork } from 'bastion/testing';
import { makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// A flood of simultaneous logins is worked on a few at a time (packages/bastion/src/security/password-admission.ts):
// the rest wait without touching Redis or the database, so the burst cannot crowd out every
// other request. Counted, not timed: how many attempts are between their limit check and their
// outcome at once, while three times the admission bound arrive together, through both faces.
// And the wait is bounded: a crowd of addresses cannot queue logins without end. Registrations
// and password changes hash too, and wait in the same queue: a flood of them cannot make
// logins wait behind it without bound.

/**
 * Fills the admission and its queue with logins (`login(i)`, each from its own address) whose
 * admitted attempts stop at their limit check until released: nothing leaves the queue
 * meanwhile, so exactly the requests beyond it are refused.
 */
async function fillQueue(t: TestContext, app: FastifyInstance, login: (i: number) => Promise<LightMyRequestResponse>) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let admitted = 0;
  const guard = app.loginGuard;
  const { check } = guard;
  guard.check = async (...args) => {
    admitted++;
    await gate;
    return check.apply(guard, args);
  };
  // Opened also when an assertion fails, or the waiting logins would hold the test open.
  t.after(() => open());
  const waiting = Array.from({ length: PASSWORD_ADMISSION + PASSWORD_QUEUE_LIMIT }, (_, i) => login(i + 1));
  // Every one of them admitted or queued before anything else arrives.
  while (admitted < PASSWORD_ADMISSION || waitingForPasswordWork() < PASSWORD_QUEUE_LIMIT)
    await new Promise((resolve) => setImmediate(resolve));
  return {
    admitted: () => admitted,
    /** Lets the held logins go on; their answers. */
    release: () => {
      open();
      return Promise.all(waiting);
    },
  };
}

for (const backend of BACKENDS) {
  test(`[${backend}] a burst of simultaneous logins is worked on at most ${PASSWORD_ADMISSION} at a time, and every one of them succeeds`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await makeUser(app, runtime, 'flooded');
    let active = 0;
    let peak = 0;
    const guard = app.loginGuard;
    const { check, succeeded, failed } = guard;
    guard.check = async (...args) => {
      active++;
      peak = Math.max(peak, active);
      return check.apply(guard, args);
    };
    guard.succeeded = async (...args) => {
      active--;
      return succeeded.apply(guard, args);
    };
    guard.failed = async (...args) => {
      active--;
      return failed.apply(guard, args);
    };

    const burst = PASSWORD_ADMISSION * 3;
    const viaApi = Array.from({ length: burst }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/api/users/login',
        remoteAddress: `203.0.113.${i + 1}`,
        payload: { user: { email: user.email, password: STRONG_PASSWORD } },
      }),
    );
    const results = await Promise.all(viaApi);
    assert.deepEqual(
      results.map((r) => r.statusCode),
      results.map(() => 200),
    );
    assert.ok(peak > 1, 'attempts do overlap (the count is real)');
    assert.ok(peak <= PASSWORD_ADMISSION, `at most ${PASSWORD_ADMISSION} attempts at once through the API, saw ${peak}`);

    peak = 0;
    const browsers = await Promise.all(Array.from({ length: burst }, () => newBrowser(app)));
    const viaForm = await Promise.all(
      browsers.map((b) => b.post('/login', { email: user.email, password: STRONG_PASSWORD }, { from: '/login' })),
    );
    assert.deepEqual(
      viaForm.map((r) => r.statusCode),
      viaForm.map(() => 303),
    );
    assert.ok(peak > 1 && peak <= PASSWORD_ADMISSION, `at most ${PASSWORD_ADMISSION} attempts at once through the form, saw ${peak}`);
    assert.equal(active, 0);
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] when ${PASSWORD_QUEUE_LIMIT} logins already wait, the next are refused at once with 503 and Retry-After, and the waiting ones still succeed`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await makeUser(app, runtime, 'crowded');
    const browser = await newBrowser(app);
    const login = (i: number) =>
      app.inject({
        method: 'POST',
        url: '/api/users/login',
        remoteAddress: `198.51.${i >> 8}.${i & 255}`,
        payload: { user: { email: user.email, password: STRONG_PASSWORD } },
      });
    const queue = await fillQueue(t, app, login);
    const refused = await Promise.all([1, 2, 3].map((i) => login(60_000 + i)));
    for (const res of refused) {
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '5');
      assert.match(res.json().errors.body[0], /temporarily unavailable/);
    }
    const viaForm = await browser.post('/login', { email: user.email, password: STRONG_PASSWORD }, { from: '/login' });
    assert.equal(viaForm.statusCode, 503, 'the sign-in form is refused the same way');
    assert.ok(viaForm.headers['retry-after']);
    assert.equal(queue.admitted(), PASSWORD_ADMISSION, 'no refused attempt reached the limit check');

    const results = await queue.release();
    assert.deepEqual(
      results.map((r) => r.statusCode),
      results.map(() => 200),
      'every attempt that waited was answered',
    );
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] a burst of simultaneous registrations is worked on at most ${PASSWORD_ADMISSION} at a time, and every one of them succeeds`, async (t) => {
    const { app } = await startTestApp(t, backend);
    // From the registration limit (the first thing an admitted registration does) to its audit
    // entry (the last before the answer).
    let active = 0;
    let peak = 0;
    const { registrationLimit, audit } = app;
    app.registrationLimit = async (request) => {
      active++;
      peak = Math.max(peak, active);
      return registrationLimit.call(app, request);
    };
    app.audit = async (request, action, details) => {
      if (action === 'register') active--;
      return audit.call(app, request, action, details);
    };

    const burst = PASSWORD_ADMISSION * 3;
    const results = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/api/users',
          remoteAddress: `203.0.114.${i + 1}`,
          payload: { user: { username: `burst${i}`, email: `burst${i}@example.com`, password: STRONG_PASSWORD } },
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.statusCode),
      results.map(() => 201),
    );
    assert.ok(peak > 1, 'registrations do overlap (the count is real)');
    assert.ok(peak <= PASSWORD_ADMISSION, `at most ${PASSWORD_ADMISSION} registrations at once, saw ${peak}`);
    assert.equal(active, 0);
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] registrations and password changes wait in the logins' queue: when it is full they are refused at once with 503, and nothing is created or changed`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = runtime.db.kysely;
    const held = await makeUser(app, runtime, 'holder');
    const apiMember = await makeUser(app, runtime, 'apimember');
    const formMember = await loggedInBrowser(app, { ...(await makeUser(app, runtime, 'formmember')), password: STRONG_PASSWORD });
    const visitor = newBrowser(app);

    const queue = await fillQueue(t, app, (i) =>
      app.inject({
        method: 'POST',
        url: '/api/users/login',
        remoteAddress: `198.51.${i >> 8}.${i & 255}`,
        payload: { user: { email: held.email, password: STRONG_PASSWORD } },
      }),
    );

    const NEW_PASSWORD = 'quartz-lantern-Octave-93';
    const refused = {
      'API registration': await app.inject({
        method: 'POST',
        url: '/api/users',
        payload: { user: { username: 'crowdapi', email: 'crowdapi@example.com', password: STRONG_PASSWORD } },
      }),
      'form registration': await visitor.post(
        '/register',
        { username: 'crowdform', email: 'crowdform@example.com', password: STRONG_PASSWORD },
        { from: '/register' },
      ),
      'API password change': await app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: apiMember.headers,
        payload: { user: { password: NEW_PASSWORD, currentPassword: STRONG_PASSWORD } },
      }),
      'form password change': await formMember.post(
        '/settings/password',
        { currentPassword: STRONG_PASSWORD, password: NEW_PASSWORD },
        { from: '/settings' },
      ),
    };
    for (const [what, res] of Object.entries(refused)) {
      assert.equal(res.statusCode, 503, `${what} is refused while the queue is full`);
      assert.equal(res.headers['retry-after'], '5', `${what} says when to come back`);
    }
    // A profile change hashes nothing and does not wait.
    const bio = await app.inject({ method: 'PUT', url: '/api/user', headers: apiMember.headers, payload: { user: { bio: 'still here' } } });
    assert.equal(bio.statusCode, 200);
    assert.equal(queue.admitted(), PASSWORD_ADMISSION, 'no refused request reached a login check');

    const results = await queue.release();
    assert.deepEqual(
      results.map((r) => r.statusCode),
      results.map(() => 200),
      'every login that waited was answered',
    );
    assert.equal(
      (await db.selectFrom('users').select('id').where('username', 'in', ['crowdapi', 'crowdform']).execute()).length,
      0,
      'no account was created',
    );
    for (const email of [apiMember.email, formMember.email]) {
      const login = await app.inject({ method: 'POST', url: '/api/users/login', payload: { user: { email, password: STRONG_PASSWORD } } });
      assert.equal(login.statusCode, 200, `${email} still signs in with the password it had`);
    }
    // Once the crowd is gone, the same requests go through.
    const again = await app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { username: 'crowdapi', email: 'crowdapi@example.com', password: STRONG_PASSWORD } },
    });
    assert.equal(again.statusCode, 201);
    const changed = await app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: apiMember.headers,
      payload: { user: { password: NEW_PASSWORD, currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(changed.statusCode, 200);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOGIN_ADMISSION, LOGIN_QUEUE_LIMIT, waitingLogins } from '../src/security/login-admission.js';
import { BACKENDS } from './helpers/backends.js';
import { makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { newBrowser } from './helpers/login.js';
import { startTestApp } from './helpers/test-app.js';

// A flood of simultaneous logins is worked on a few at a time (src/security/login-admission.ts):
// the rest wait without touching Redis or the database, so the burst cannot crowd out every
// other request. Counted, not timed: how many attempts are between their limit check and their
// outcome at once, while three times the admission bound arrive together, through both faces.
// And the wait is bounded: a crowd of addresses cannot queue logins without end.

for (const backend of BACKENDS) {
  test(`[${backend}] a burst of simultaneous logins is worked on at most ${LOGIN_ADMISSION} at a time, and every one of them succeeds`, async (t) => {
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

    const burst = LOGIN_ADMISSION * 3;
    const viaApi = Array.from({ length: burst }, (_, i) =>
      app.inject({ method: 'POST', url: '/api/users/login', remoteAddress: `203.0.113.${i + 1}`, payload: { user: { email: user.email, password: STRONG_PASSWORD } } }),
    );
    const results = await Promise.all(viaApi);
    assert.deepEqual(results.map((r) => r.statusCode), results.map(() => 200));
    assert.ok(peak > 1, 'attempts do overlap (the count is real)');
    assert.ok(peak <= LOGIN_ADMISSION, `at most ${LOGIN_ADMISSION} attempts at once through the API, saw ${peak}`);

    peak = 0;
    const browsers = await Promise.all(Array.from({ length: burst }, () => newBrowser(app)));
    const viaForm = await Promise.all(browsers.map((b) => b.post('/login', { email: user.email, password: STRONG_PASSWORD }, { from: '/login' })));
    assert.deepEqual(viaForm.map((r) => r.statusCode), viaForm.map(() => 303));
    assert.ok(peak > 1 && peak <= LOGIN_ADMISSION, `at most ${LOGIN_ADMISSION} attempts at once through the form, saw ${peak}`);
    assert.equal(active, 0);
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] when ${LOGIN_QUEUE_LIMIT} logins already wait, the next are refused at once with 503 and Retry-After, and the waiting ones still succeed`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await makeUser(app, runtime, 'crowded');
    const browser = await newBrowser(app);
    // The admitted attempts stop at their limit check until the gate opens: nothing leaves the
    // queue meanwhile, so exactly the attempts beyond it are refused.
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
    const login = (i: number) =>
      app.inject({ method: 'POST', url: '/api/users/login', remoteAddress: `198.51.${i >> 8}.${i & 255}`, payload: { user: { email: user.email, password: STRONG_PASSWORD } } });

    // Opened also when an assertion fails, or the waiting logins would hold the test open.
    t.after(() => open());
    const waiting = Array.from({ length: LOGIN_ADMISSION + LOGIN_QUEUE_LIMIT }, (_, i) => login(i + 1));
    // Every one of them admitted or queued before the next arrive.
    while (admitted < LOGIN_ADMISSION || waitingLogins() < LOGIN_QUEUE_LIMIT) await new Promise((resolve) => setImmediate(resolve));
    const refused = await Promise.all([1, 2, 3].map((i) => login(60_000 + i)));
    for (const res of refused) {
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '5');
      assert.match(res.json().errors.body[0], /temporarily unavailable/);
    }
    const viaForm = await browser.post('/login', { email: user.email, password: STRONG_PASSWORD }, { from: '/login' });
    assert.equal(viaForm.statusCode, 503, 'the sign-in form is refused the same way');
    assert.ok(viaForm.headers['retry-after']);
    assert.equal(admitted, LOGIN_ADMISSION, 'no refused attempt reached the limit check');

    open();
    const results = await Promise.all(waiting);
    assert.deepEqual(results.map((r) => r.statusCode), results.map(() => 200), 'every attempt that waited was answered');
  });
}

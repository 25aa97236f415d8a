import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildApp } from '../src/app.js';
import { BACKENDS, randomKey, TestClient, sha256Hex } from 'bastion/testing';
import { createUser, isLoggedIn, sessionCookieOf } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

const MINUTE = 60_000;
const quiet = { logStream: new Writable({ write: (_chunk, _enc, cb) => cb() }) };

for (const backend of BACKENDS) {
  test(`[${backend}] session fixation: a session planted before login is not the session after it, and is dead`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const attacker = await createUser(runtime);
    const victim = await createUser(runtime);
    const evil = new TestClient(app);
    await evil.login(attacker.email, attacker.password);
    const planted = evil.jar.get('session')!;

    const browser = new TestClient(app);
    await browser.get('/login');
    browser.jar.set('session', planted);
    const res = await browser.login(victim.email, victim.password);
    assert.equal(res.statusCode, 303);
    const after = browser.jar.get('session');
    assert.ok(after);
    assert.notEqual(after, planted);
    assert.notEqual(after, browser.jar.get('csrf'));
    // Logging in over the planted cookie ended that session server-side.
    assert.equal(await isLoggedIn(evil), false);
  });

  test(`[${backend}] a session cookie replayed after logout is anonymous`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const stolen = browser.jar.get('session')!;
    const out = await browser.submit('/settings', '/logout', {});
    assert.equal(out.statusCode, 303);
    assert.equal(browser.jar.has('session'), false);
    const replay = new TestClient(app);
    replay.jar.set('session', stolen);
    assert.equal(await isLoggedIn(replay), false);
    // Deleted server-side, not merely forgotten by the browser.
    if (backend === 'sqlite') {
      const rows = await runtime.db.kysely.selectFrom('sessions').select('id_hash').where('user_id', '=', user.id).execute();
      assert.equal(rows.length, 0);
    } else {
      assert.deepEqual(await runtime.redis!.smembers(`user-sessions:${user.id}`), []);
    }
  });

  test(`[${backend}] tampered, forged and garbage session cookies are anonymous, cleared, never a 500`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    const good = decodeURIComponent(browser.jar.get('session')!);
    const [id, sig] = good.split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const attempts = [
      `${flip(id)}.${sig}`, // another id under the old signature
      `${id}.${flip(sig)}`, // tampered signature
      id, // unsigned id
      `${id}.`,
      'x'.repeat(4000),
      '%%%;;', // not even valid encoding
      `${'A'.repeat(43)}.${sig}`,
    ];
    for (const value of attempts) {
      const res = await app.inject({ method: 'GET', url: '/settings', headers: { cookie: `session=${encodeURIComponent(value)}` } });
      assert.equal(res.statusCode, 303, value);
      const cleared = sessionCookieOf(res);
      assert.ok(cleared, `cookie cleared for ${value}`);
      assert.equal(cleared.value, '');
    }
    // A well-formed id that was never issued, signed with another key, is just as anonymous.
    const other = await startTestApp(t, backend);
    const foreign = new TestClient(other.app);
    const stranger = await createUser(other.runtime);
    await foreign.login(stranger.email, stranger.password);
    const forged = new TestClient(app);
    forged.jar.set('session', foreign.jar.get('session')!);
    assert.equal(await isLoggedIn(forged), false);
    // The server keeps only hashes: the raw id is nowhere in the store.
    if (backend === 'sqlite') {
      const row = await runtime.db.kysely.selectFrom('sessions').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.id_hash, sha256Hex(id));
    } else {
      assert.equal(await runtime.redis!.get(`session:${id}`), null);
      assert.ok(await runtime.redis!.get(`session:${sha256Hex(id)}`));
    }
  });

  test(`[${backend}] session cookie flags: HttpOnly, SameSite=Lax, Path=/, Max-Age=1800, no Secure in development`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const res = await new TestClient(app).login(user.email, user.password);
    const c = sessionCookieOf(res, 'session');
    assert.ok(c);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Lax');
    assert.equal(c.path, '/');
    assert.equal(c.maxAge, 1800);
    assert.notEqual(c.secure, true);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test(`[${backend}] in production the session cookie is __Host-session and Secure`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {
      NODE_ENV: 'production',
      PUBLIC_ORIGIN: 'https://conduit.example.com',
      TRUST_PROXY: '127.0.0.1',
    });
    const user = await createUser(runtime);
    const browser = new TestClient(app, { headers: { 'x-forwarded-proto': 'https' } });
    const res = await browser.login(user.email, user.password);
    assert.equal(res.statusCode, 303);
    assert.equal(sessionCookieOf(res, 'session'), undefined);
    const c = sessionCookieOf(res, '__Host-session');
    assert.ok(c);
    assert.equal(c.secure, true);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Lax');
    assert.equal(c.path, '/');
    assert.equal(c.maxAge, 1800);
    assert.ok(browser.jar.has('__Host-csrf'));
    assert.equal(await isLoggedIn(browser), true);
  });

  test(`[${backend}] a session idle for 30 minutes is dead`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    t.mock.timers.tick(30 * MINUTE);
    assert.equal(await isLoggedIn(browser), false);
  });

  test(`[${backend}] activity slides the idle expiry and renews Max-Age, written back at most once a minute`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    t.mock.timers.tick(30_000);
    const calm = await browser.get('/settings');
    assert.equal(calm.statusCode, 200);
    assert.equal(sessionCookieOf(calm), undefined, 'no write-back within a minute');
    for (let i = 0; i < 3; i++) {
      t.mock.timers.tick(29 * MINUTE);
      const res = await browser.get('/settings');
      assert.equal(res.statusCode, 200, `still logged in after ${(i + 1) * 29} minutes of activity`);
      assert.equal(sessionCookieOf(res)?.maxAge, 1800);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  test(`[${backend}] no session outlives 12 hours, however active`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    for (let elapsed = 0; elapsed + 20 * MINUTE < 12 * 60 * MINUTE; elapsed += 20 * MINUTE) {
      t.mock.timers.tick(20 * MINUTE);
      assert.equal(await isLoggedIn(browser), true);
    }
    t.mock.timers.tick(20 * MINUTE);
    assert.equal(await isLoggedIn(browser), false);
  });

  test(`[${backend}] key rotation: a session made under K1 is valid under SECRET_KEY=K2 with K1 as fallback, and re-signed`, async (t) => {
    const { app, runtime, config } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const before = new TestClient(app);
    await before.login(user.email, user.password);
    const k1Cookie = before.jar.get('session')!;

    const k2 = randomKey();
    const rotated = await buildApp({ ...runtime, config: { ...config, secretKey: k2, secretKeyFallbacks: [config.secretKey] } }, quiet);
    t.after(() => rotated.close());
    const browser = new TestClient(rotated);
    browser.jar.set('session', k1Cookie);
    const res = await browser.get('/settings');
    assert.equal(res.statusCode, 200);
    const resigned = sessionCookieOf(res);
    assert.ok(resigned, 're-signed with the current key');
    assert.notEqual(browser.jar.get('session'), k1Cookie);
    assert.equal(decodeURIComponent(browser.jar.get('session')!).split('.')[0], decodeURIComponent(k1Cookie).split('.')[0]);

    // With K1 retired completely, the re-signed cookie still works and the K1 one does not.
    const k2Only = await buildApp({ ...runtime, config: { ...config, secretKey: k2, secretKeyFallbacks: [] } }, quiet);
    t.after(() => k2Only.close());
    const later = new TestClient(k2Only);
    later.jar.set('session', browser.jar.get('session')!);
    assert.equal(await isLoggedIn(later), true);
    const stale = new TestClient(k2Only);
    stale.jar.set('session', k1Cookie);
    assert.equal(await isLoggedIn(stale), false);
  });

  test(`[${backend}] a locked account's live session is treated as logged out`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const browser = new TestClient(app);
    await browser.login(user.email, user.password);
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('id', '=', user.id).execute();
    assert.equal(await isLoggedIn(browser), false);
  });

  test(`[${backend}] revokeAllForUser (role change) ends every session of that user only`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const other = await createUser(runtime);
    const a = new TestClient(app);
    const b = new TestClient(app);
    const c = new TestClient(app);
    await a.login(user.email, user.password);
    await b.login(user.email, user.password);
    await c.login(other.email, other.password);
    await app.sessions.revokeAllForUser(user.id);
    assert.equal(await isLoggedIn(a), false);
    assert.equal(await isLoggedIn(b), false);
    assert.equal(await isLoggedIn(c), true);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime } from 'bastion';
import { BACKENDS, TestClient } from 'bastion/testing';
import type { FastifyInstance } from 'fastify';
import { createUser, type TestUser } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "audit log": logout and session revoke are recorded with time, actor, IP and user
// agent, and never a secret (no session id, cookie or handle in the row).

async function rows(runtime: Runtime, event: string) {
  return runtime.db.kysely.selectFrom('audit_log').selectAll().where('event', '=', event).orderBy('id').execute();
}

async function signedIn(app: FastifyInstance, user: TestUser, userAgent: string): Promise<TestClient> {
  const browser = new TestClient(app, { headers: { 'user-agent': userAgent } });
  assert.equal((await browser.login(user.email, user.password)).statusCode, 303);
  return browser;
}

/** Nothing that opens a session (its id, signed cookie or revoke handle) appears in any audit row. */
async function assertNoSessionSecrets(runtime: Runtime, secrets: string[]): Promise<void> {
  const all = await runtime.db.kysely.selectFrom('audit_log').selectAll().execute();
  const text = JSON.stringify(all);
  for (const secret of secrets) assert.ok(!text.includes(secret), 'no session secret in the audit log');
}

for (const backend of BACKENDS) {
  test(`[${backend}] signing out writes one logout row naming the member by id, with IP and user agent; an anonymous POST /logout writes none`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const browser = await signedIn(app, alice, 'Audit Browser/1.0');
    const sessionCookie = decodeURIComponent(browser.jar.get('session')!);
    const out = await browser.submit('/settings', '/logout', {});
    assert.equal(out.statusCode, 303);

    const logged = await rows(runtime, 'logout');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.actor_id, alice.id);
    assert.equal(logged[0]!.actor_name, alice.username);
    assert.equal(logged[0]!.user_agent, 'Audit Browser/1.0');
    assert.ok(logged[0]!.ip, 'the client address is recorded');
    assert.ok(!Number.isNaN(Date.parse(logged[0]!.at)), 'the time is recorded');

    // An anonymous page has no logout form: post the way a stray client would, with a real token.
    const anonymous = new TestClient(app);
    const _csrf = await anonymous.csrf('/login');
    assert.equal((await anonymous.post('/logout', { _csrf }, { csrf: false })).statusCode, 303);
    assert.equal((await rows(runtime, 'logout')).length, 1, 'nobody signed out, nothing audited');
    await assertNoSessionSecrets(runtime, [sessionCookie, sessionCookie.split('.')[0]!]);
  });

  test(`[${backend}] revoking one session writes a session.revoke row by its owner; "log out everywhere" writes one for all`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const laptop = await signedIn(app, alice, 'Laptop Browser/1.0');
    const phone = await signedIn(app, alice, 'Phone Browser/2.0');
    const page = (await laptop.get('/settings')).body;
    const handles = [...page.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]!);
    const phoneSession = decodeURIComponent(phone.jar.get('session')!);
    const otherHandle = handles.find((h) => !new RegExp(`<tr class=current>[\\s\\S]*?value="${h}"`).test(page))!;

    assert.equal((await laptop.submit('/settings', '/settings/sessions/revoke', { session: otherHandle })).statusCode, 303);
    let revoked = await rows(runtime, 'session.revoke');
    assert.equal(revoked.length, 1);
    assert.equal(revoked[0]!.actor_id, alice.id);
    assert.equal(revoked[0]!.user_agent, 'Laptop Browser/1.0');
    assert.deepEqual(JSON.parse(revoked[0]!.details), { current: false });

    assert.equal((await laptop.submit('/settings', '/settings/logout-everywhere', {})).statusCode, 303);
    revoked = await rows(runtime, 'session.revoke');
    assert.equal(revoked.length, 2);
    assert.equal(revoked[1]!.actor_id, alice.id);
    assert.deepEqual(JSON.parse(revoked[1]!.details), { scope: 'all' });
    await assertNoSessionSecrets(runtime, [...handles, phoneSession, phoneSession.split('.')[0]!]);
  });
}

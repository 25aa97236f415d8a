import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, TestClient } from 'bastion/testing';
import type { FastifyInstance } from 'fastify';
import { createUser, isLoggedIn } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';

// /settings lists the member's own sessions (where and when each signed in, which one is this
// one) with a Revoke form on each. Revoking works only on one's own: another user's session
// handle answers 404 and that session lives on.

interface Row {
  readonly handle: string;
  readonly current: boolean;
  readonly text: string;
}

/** The sessions table of a settings page: each row's text, its Revoke form's handle, and whether it is this session. */
function sessionRows(html: string): Row[] {
  const table = /<table class="sessions">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr\b([^>]*)>([\s\S]*?)<\/tr>/g)]
    .filter((row) => row[2]!.includes('name="session"'))
    .map((row) => ({
      handle: /name="session" value="([^"]+)"/.exec(row[2]!)![1]!,
      current: /class=current/.test(row[1]!) && row[2]!.includes('(this session)'),
      text: row[2]!.replace(/<[^<>]*>/g, ' '),
    }));
}

async function signedIn(app: FastifyInstance, user: { email: string; password: string }, userAgent: string): Promise<TestClient> {
  const browser = new TestClient(app, { headers: { 'user-agent': userAgent } });
  const res = await browser.login(user.email, user.password);
  assert.equal(res.statusCode, 303, 'login redirects');
  return browser;
}

for (const backend of BACKENDS) {
  test(`[${backend}] the settings page lists each of the member's sessions with its browser and marks this one`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const other = await createUser(runtime);
    const laptop = await signedIn(app, alice, 'Laptop Browser/1.0');
    await signedIn(app, alice, 'Phone Browser/2.0');
    await signedIn(app, other, 'Someone Else/3.0');

    const rows = sessionRows((await laptop.get('/settings')).body);
    assert.equal(rows.length, 2, 'two sessions of her own, none of another user');
    assert.ok(
      rows.some((r) => r.text.includes('Laptop Browser/1.0') && r.current),
      'this session, marked',
    );
    assert.ok(
      rows.some((r) => r.text.includes('Phone Browser/2.0') && !r.current),
      'the other session, not marked',
    );
    assert.ok(!rows.some((r) => r.text.includes('Someone Else')), "another user's session is not listed");
    assert.equal(new Set(rows.map((r) => r.handle)).size, 2, 'each row names its own session');
    for (const row of rows)
      assert.doesNotMatch(
        row.handle,
        new RegExp(decodeURIComponent(laptop.jar.get('session')!).split('.')[0]!),
        'a handle is not the session id',
      );
  });

  test(`[${backend}] revoking one's other session signs that browser out and leaves this one signed in`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const laptop = await signedIn(app, alice, 'Laptop Browser/1.0');
    const phone = await signedIn(app, alice, 'Phone Browser/2.0');

    const phoneRow = sessionRows((await laptop.get('/settings')).body).find((r) => !r.current)!;
    const res = await laptop.submit('/settings', '/settings/sessions/revoke', { session: phoneRow.handle });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/settings?done=session');
    assert.equal(await isLoggedIn(phone), false, 'the revoked browser is signed out');
    assert.equal(await isLoggedIn(laptop), true, 'this browser stays signed in');
    const left = sessionRows((await laptop.get('/settings')).body);
    assert.deepEqual(
      left.map((r) => r.current),
      [true],
      'only this session is left',
    );
  });

  test(`[${backend}] revoking this very session signs this browser out`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const laptop = await signedIn(app, alice, 'Laptop Browser/1.0');
    const mine = sessionRows((await laptop.get('/settings')).body).find((r) => r.current)!;
    const res = await laptop.submit('/settings', '/settings/sessions/revoke', { session: mine.handle });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login');
    assert.equal(await isLoggedIn(laptop), false);
  });

  test(`[${backend}] revoking another user's session handle answers 404 and that session lives on`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const alice = await createUser(runtime);
    const mallory = await createUser(runtime);
    const aliceLaptop = await signedIn(app, alice, 'Laptop Browser/1.0');
    const malloryPhone = await signedIn(app, mallory, 'Phone Browser/2.0');
    const malloryHandle = sessionRows((await malloryPhone.get('/settings')).body).find((r) => r.current)!.handle;

    const res = await aliceLaptop.submit('/settings', '/settings/sessions/revoke', { session: malloryHandle });
    assert.equal(res.statusCode, 404);
    assert.equal(await isLoggedIn(malloryPhone), true, "the other user's session is untouched");
    assert.equal(await isLoggedIn(aliceLaptop), true);
    const audited = await runtime.db.kysely.selectFrom('audit_log').select('event').where('event', '=', 'session.revoke').execute();
    assert.equal(audited.length, 0, 'nothing was revoked, so nothing is audited as revoked');

    for (const junk of ['0'.repeat(32), 'not-a-handle', '']) {
      const again = await aliceLaptop.submit('/settings', '/settings/sessions/revoke', { session: junk });
      assert.ok(
        again.statusCode === 404 || again.statusCode === 400 || again.statusCode === 422,
        `${JSON.stringify(junk)} answers a 4xx, got ${again.statusCode}`,
      );
    }
    assert.equal(await isLoggedIn(malloryPhone), true);
  });
}

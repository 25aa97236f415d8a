import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { BACKENDS, newBrowser, type PageBrowser, registeredBrowser, TestClient } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { setRole, userId } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// The users half of /admin, attacked: who may open it, who may change a role or lock an
// account (never one's own), what a change does to the target's live sessions and API tokens,
// and which fields a form may carry.

const userRows = (html: string): number[] => [...html.matchAll(/<tr id="user-(\d+)"/g)].map((m) => Number(m[1]));

async function adminBrowser(app: FastifyInstance, runtime: Runtime): Promise<PageBrowser> {
  const admin = await registeredBrowser(app);
  await setRole(runtime, admin.username, 'admin');
  return admin;
}

async function account(runtime: Runtime, username: string) {
  return runtime.db.kysely
    .selectFrom('users')
    .select(['id', 'role', 'locked_at'])
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
}

async function auditRows(runtime: Runtime, event: string) {
  const rows = await runtime.db.kysely.selectFrom('audit_log').selectAll().where('event', '=', event).orderBy('id').execute();
  return rows.map((r) => ({ actor: r.actor_name, details: JSON.parse(r.details) as Record<string, unknown> }));
}

/** A second session of the account, kept as the raw cookie an attacker might have copied. */
async function copiedCookie(app: FastifyInstance, who: { email: string; password: string }): Promise<string> {
  const browser = new TestClient(app);
  assert.equal((await browser.login(who.email, who.password)).statusCode, 303);
  return browser.cookieHeader;
}

const replays = async (app: FastifyInstance, cookie: string): Promise<boolean> =>
  (await app.inject({ url: '/settings', headers: { cookie } })).statusCode === 200;

/** Whether the browser's session still belongs to a logged-in user. */
async function signedIn(browser: PageBrowser): Promise<boolean> {
  const res = await browser.get('/settings');
  if (res.statusCode === 200) return true;
  assert.equal(res.statusCode, 303);
  assert.match(String(res.headers.location), /^\/login/);
  return false;
}

for (const backend of BACKENDS) {
  test(`[${backend}] anonymous visitors are sent to the login page from every admin page`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    for (const url of ['/admin', '/admin?q=x', '/admin/content', '/admin/audit']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, `/login?next=${encodeURIComponent(url)}`);
    }
    // A form post with a valid anonymous CSRF token changes nothing and goes to login.
    const target = await createUser(runtime);
    const anonymous = newBrowser(app);
    const res = await anonymous.post(`/admin/users/${target.id}/role`, { role: 'admin' });
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /^\/login/);
  });

  test(`[${backend}] a member and a moderator get 403 on /admin, audited as authz.deny`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const member = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    for (const who of [member, moderator]) {
      const res = await who.get('/admin');
      assert.equal(res.statusCode, 403, who.username);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.doesNotMatch(res.body, /user-\d+/, 'no user list leaks into the refusal');
    }
    const denials = await auditRows(runtime, 'authz.deny');
    assert.deepEqual(
      denials.map((d) => d.actor),
      [member.username, moderator.username],
    );
    assert.deepEqual(denials[0]!.details, { method: 'GET', route: '/admin', need: 'admin' });
    // Neither is shown the Admin link to /admin; the moderator's goes to moderation.
    assert.doesNotMatch((await member.get('/')).body, /href="\/admin/);
    const modHome = (await moderator.get('/')).body;
    assert.match(modHome, /href="\/admin\/content">Admin</);
    assert.doesNotMatch(modHome, /href="\/admin"/);
  });

  test(`[${backend}] an admin sees the users with a role form and a lock button, no-store, and the nav link`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const member = await registeredBrowser(app);
    const res = await admin.get('/admin');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const memberId = await userId(runtime, member.username);
    const adminId = await userId(runtime, admin.username);
    assert.deepEqual(userRows(res.body), [memberId, adminId], 'newest first');
    assert.match(res.body, new RegExp(`action="/admin/users/${memberId}/role"`));
    assert.match(res.body, new RegExp(`action="/admin/users/${memberId}/lock"`));
    assert.doesNotMatch(res.body, new RegExp(`action="/admin/users/${adminId}/`), "no forms on the admin's own row");
    assert.match(res.body, /<a href="\/admin">Admin<\/a>/);
    // Each name links to its Conduit profile (site.profilePath), the name encoded into the path.
    assert.match(res.body, new RegExp(`<a href="/profile/${encodeURIComponent(member.username)}">${member.username}</a>`));
    assert.doesNotMatch(res.body, /style=|<script/i);
  });

  test(`[${backend}] the user list filters by a search term with LIKE wildcards taken literally, and by role, and pages`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const underscore = await createUser(runtime, { username: 'Alpha_one' });
    const plain = await createUser(runtime, { username: 'alphaxone' });
    const byEmail = await createUser(runtime, { username: 'zed', email: 'zed.alpha_one@example.org' });
    await setRole(runtime, plain.username, 'moderator');

    const search = async (query: string) => {
      const res = await admin.get(`/admin?${query}`);
      assert.equal(res.statusCode, 200, `${query}: ${res.statusCode}`);
      return userRows(res.body).sort((a, b) => a - b);
    };
    assert.deepEqual(await search('q=ALPHA_ONE'), [underscore.id, byEmail.id], 'case-insensitive, "_" is not a wildcard, email matches');
    assert.deepEqual(await search('q=alpha'), [underscore.id, plain.id, byEmail.id]);
    assert.deepEqual(await search('q=%25'), [], '"%" matches nobody');
    assert.deepEqual(await search('q=alpha&role=moderator'), [plain.id]);
    assert.deepEqual(await search('role=admin'), [await userId(runtime, admin.username)]);

    for (let i = 0; i < 11; i++) await createUser(runtime, { username: `pager${i}` });
    const ids = (
      await runtime.db.kysely.selectFrom('users').select('id').where('username', 'like', 'pager%').orderBy('id', 'desc').execute()
    ).map((r) => r.id);
    const first = await admin.get('/admin?q=pager');
    assert.deepEqual(userRows(first.body), ids.slice(0, 10));
    assert.match(first.body, /href="\/admin\?q=pager&amp;page=2"/, 'the next page keeps the filter');
    assert.deepEqual(userRows((await admin.get('/admin?q=pager&page=2')).body), ids.slice(10));
  });

  test(`[${backend}] bad user-list filters are refused with a 4xx`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    for (const query of [`q=${'a'.repeat(255)}`, 'role=root', 'role=__proto__', 'page=0', 'page=x', 'done=pwned']) {
      const res = await admin.get(`/admin?${query}`);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${query}: ${res.statusCode}`);
    }
  });

  test(`[${backend}] a role change without the CSRF token is refused with 403 and changes nothing`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const target = await createUser(runtime);
    const res = await admin.post(`/admin/users/${target.id}/role`, { role: 'admin' }, { csrf: false });
    assert.equal(res.statusCode, 403);
    const forged = await admin.post(`/admin/users/${target.id}/role`, { role: 'admin', _csrf: 'x'.repeat(43) }, { csrf: false });
    assert.equal(forged.statusCode, 403);
    assert.equal((await account(runtime, target.username)).role, 'member');
    assert.deepEqual(await auditRows(runtime, 'role.change'), []);
  });

  test(`[${backend}] a member or moderator posting the role form directly gets 403; the role stays and the attempt is audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const member = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    const memberId = await userId(runtime, member.username);
    for (const who of [member, moderator]) {
      assert.equal((await who.post(`/admin/users/${memberId}/role`, { role: 'admin' })).statusCode, 403, `${who.username} promotes`);
      assert.equal((await who.post(`/admin/users/${memberId}/lock`, {})).statusCode, 403, `${who.username} locks`);
    }
    const self = await account(runtime, member.username);
    assert.equal(self.role, 'member');
    assert.equal(self.locked_at, null);
    assert.equal((await auditRows(runtime, 'authz.deny')).length, 4);
    assert.deepEqual(await auditRows(runtime, 'role.change'), []);
  });

  test(`[${backend}] an admin cannot change their own role or lock themselves; the refusal is audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const adminId = await userId(runtime, admin.username);
    assert.equal((await admin.post(`/admin/users/${adminId}/role`, { role: 'member' }, { from: '/admin' })).statusCode, 403);
    assert.equal((await admin.post(`/admin/users/${adminId}/lock`, {}, { from: '/admin' })).statusCode, 403);
    const row = await account(runtime, admin.username);
    assert.equal(row.role, 'admin');
    assert.equal(row.locked_at, null);
    assert.ok(await signedIn(admin), 'still signed in');
    const denials = await auditRows(runtime, 'authz.deny');
    assert.deepEqual(
      denials.map((d) => d.details.action),
      ['user:set-role', 'user:lock'],
    );
  });

  test(`[${backend}] a role change ends every session of the target and is audited with from, to and target`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const target = await registeredBrowser(app);
    const targetId = await userId(runtime, target.username);
    const copied = await copiedCookie(app, target);
    assert.ok(await signedIn(target));
    assert.ok(await replays(app, copied));

    const res = await admin.post(`/admin/users/${targetId}/role`, { role: 'moderator', back: '/admin?q=user&page=1' }, { from: '/admin' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin?q=user&page=1&done=role');
    assert.match((await admin.get(String(res.headers.location))).body, /The role was changed/);
    assert.equal((await account(runtime, target.username)).role, 'moderator');
    assert.equal(await signedIn(target), false, 'the old session cookie no longer works');
    assert.equal(await replays(app, copied), false, 'nor does any other session of the user');
    assert.deepEqual(await auditRows(runtime, 'role.change'), [
      { actor: admin.username, details: { targetId, target: target.username, from: 'member', to: 'moderator' } },
    ]);

    // Signing in again gives the new rights.
    const again = newBrowser(app);
    assert.equal((await again.post('/login', { email: target.email, password: target.password })).statusCode, 303);
    assert.equal((await again.get('/admin/content')).statusCode, 200);

    // Setting the same role again is not a change: nothing audited, nobody signed out.
    assert.equal(
      (await admin.post(`/admin/users/${targetId}/role`, { role: 'moderator' }, { from: '/admin' })).headers.location,
      '/admin?done=unchanged',
    );
    assert.ok(await signedIn(again));
    assert.equal((await auditRows(runtime, 'role.change')).length, 1);
  });

  test(`[${backend}] a lock stops the user's live session, API token and login; an unlock restores login`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const target = await registeredBrowser(app);
    const targetId = await userId(runtime, target.username);
    const copied = await copiedCookie(app, target);
    const token = await app.apiTokens.issue(targetId, 'cli');
    const apiUser = () => app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } });
    assert.equal((await apiUser()).statusCode, 200);

    assert.equal((await admin.post(`/admin/users/${targetId}/lock`, {}, { from: '/admin' })).statusCode, 303);
    assert.notEqual((await account(runtime, target.username)).locked_at, null);
    assert.equal(await signedIn(target), false, 'the live session is gone');
    assert.equal((await apiUser()).statusCode, 401, 'the API token is revoked');
    const tokens = await runtime.db.kysely.selectFrom('api_tokens').select('id').where('user_id', '=', targetId).execute();
    assert.deepEqual(tokens, []);
    const refused = await newBrowser(app).post('/login', { email: target.email, password: target.password });
    assert.equal(refused.statusCode, 422, 'login is refused with the right password');
    assert.match((await admin.get('/admin')).body, new RegExp(`action="/admin/users/${targetId}/unlock"`));

    assert.equal((await admin.post(`/admin/users/${targetId}/unlock`, {}, { from: '/admin' })).headers.location, '/admin?done=unlock');
    const back = newBrowser(app);
    assert.equal((await back.post('/login', { email: target.email, password: target.password })).statusCode, 303);
    assert.ok(await signedIn(back));
    assert.equal(await replays(app, copied), false, 'sessions from before the lock stay dead after the unlock');
    assert.deepEqual(await auditRows(runtime, 'account.lock'), [{ actor: admin.username, details: { targetId, target: target.username } }]);
    assert.deepEqual(await auditRows(runtime, 'account.unlock'), [
      { actor: admin.username, details: { targetId, target: target.username } },
    ]);
    const failure = (await auditRows(runtime, 'login.failure')).at(-1);
    assert.equal(failure?.details.reason, 'locked');
  });

  test(`[${backend}] forms carrying fields they were not built with (mass assignment) are refused and change nothing`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const admin = await adminBrowser(app, runtime);
    const target = await createUser(runtime);
    const adminId = await userId(runtime, admin.username);
    const attempts: [string, Record<string, string>][] = [
      [`/admin/users/${target.id}/role`, { role: 'moderator', id: String(adminId) }],
      [`/admin/users/${target.id}/role`, { role: 'moderator', locked_at: '' }],
      [`/admin/users/${target.id}/role`, { role: 'root' }],
      [`/admin/users/${target.id}/role`, {}],
      [`/admin/users/${target.id}/lock`, { role: 'admin' }],
      [`/admin/users/${target.id}/lock`, { id: String(adminId) }],
      [`/admin/users/${target.id}/unlock`, { username: 'x' }],
      // The return address is only ever a page of the admin area.
      [`/admin/users/${target.id}/lock`, { back: '//evil.example/admin' }],
      [`/admin/users/${target.id}/lock`, { back: 'https://evil.example/' }],
    ];
    for (const [url, fields] of attempts) {
      const res = await admin.post(url, fields, { from: '/admin' });
      assert.equal(res.statusCode, 422, `${url} ${JSON.stringify(fields)}: ${res.statusCode}`);
    }
    const row = await account(runtime, target.username);
    assert.equal(row.role, 'member');
    assert.equal(row.locked_at, null);
    assert.equal((await admin.post('/admin/users/999999/role', { role: 'admin' }, { from: '/admin' })).statusCode, 404);
    assert.equal((await admin.post('/admin/users/abc/lock', {}, { from: '/admin' })).statusCode, 422);
  });
}

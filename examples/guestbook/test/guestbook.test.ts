import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBastion, noBody, type Role, RouteRuleError } from 'bastion';
import { BACKENDS, createUser, loggedInBrowser, newBrowser, type PageBrowser, type TestUser } from 'bastion/testing';
import { startGuestbook, type TestGuestbook } from './start-guestbook.js';

// The guestbook holds no security code of its own: each attack below is refused by what its
// routes declare (access, schemas) and by the layer Bastion puts around them.

const signIn = (gb: TestGuestbook, user: TestUser): Promise<PageBrowser> => loggedInBrowser(gb.app, user);
const makeUser = (gb: TestGuestbook, username: string, role: Role = 'member'): Promise<TestUser> =>
  createUser(gb.runtime, { username, role });

async function messageIds(gb: TestGuestbook): Promise<number[]> {
  const rows = await gb.runtime.db.kysely
    .$extendTables<{ guestbook_messages: { id: number } }>()
    .selectFrom('guestbook_messages')
    .select('id')
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

for (const backend of BACKENDS) {
  test(`[${backend}] a member signs the guestbook; an anonymous visitor reads it but is sent to sign in when posting`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    assert.equal((await ana.post('/messages', { body: 'Hello from Ana' })).statusCode, 303);
    const page = await gb.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Hello from Ana/);
    assert.match(page.body, /— Guestbook<\/title>/, "the app's own layout");

    const anonymous = await gb.app.inject({
      method: 'POST',
      url: '/messages',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'body=spam',
    });
    assert.equal(anonymous.statusCode, 303);
    assert.equal(anonymous.headers.location, '/login?next=%2F');
    assert.equal((await messageIds(gb)).length, 1, 'nothing was added');
  });

  test(`[${backend}] Bastion's own pages (sign in) render inside the guestbook's layout`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const login = await gb.app.inject({ method: 'GET', url: '/login' });
    assert.equal(login.statusCode, 200);
    assert.match(login.body, /Sign in — Guestbook<\/title>/);
    assert.match(login.body, /name="_csrf"/);
  });

  test(`[${backend}] a post without the CSRF token, or with a forged one, is refused and writes nothing`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    assert.equal((await ana.post('/messages', { body: 'no token' }, { csrf: false })).statusCode, 403);
    assert.equal((await ana.post('/messages', { body: 'forged', _csrf: 'a'.repeat(64) }, { csrf: false })).statusCode, 403);
    assert.deepEqual(await messageIds(gb), []);
  });

  test(`[${backend}] an account whose address is not confirmed may read but not post`, async (t) => {
    const gb = await startGuestbook(t, backend);
    // Signed up through the pages, as every guestbook account is, and signed in without following the link.
    const fresh = newBrowser(gb.app);
    assert.equal(
      (await fresh.post('/register', { username: fresh.username, email: fresh.email, password: fresh.password }, { from: '/register' }))
        .statusCode,
      303,
    );
    await gb.app.signUps.settled();
    assert.equal((await fresh.post('/login', { email: fresh.email, password: fresh.password }, { from: '/login' })).statusCode, 303);
    const res = await fresh.post('/messages', { body: 'from a throwaway address' });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /Confirm your email address/);
    assert.deepEqual(await messageIds(gb), []);
  });

  test(`[${backend}] only the author deletes a message; another member gets 403 and the message stays`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    const bob = await signIn(gb, await makeUser(gb, 'bob'));
    await ana.post('/messages', { body: 'Ana was here' });
    const [id] = await messageIds(gb);
    const home = await bob.get('/');
    assert.doesNotMatch(home.body, new RegExp(`/messages/${id}/delete`), 'no delete button for someone else');
    assert.equal((await bob.post(`/messages/${id}/delete`, {}, { from: '/' })).statusCode, 403);
    assert.deepEqual(await messageIds(gb), [id]);
    // The guestbook audits nothing itself: Bastion's page face records the refusal.
    const denials = await gb.runtime.db.kysely
      .selectFrom('audit_log')
      .select(['actor_name', 'details'])
      .where('event', '=', 'authz.deny')
      .execute();
    assert.deepEqual(
      denials.map((d) => [d.actor_name, JSON.parse(d.details).route]),
      [['bob', '/messages/:id/delete']],
    );
    assert.equal((await ana.post(`/messages/${id}/delete`, {}, { from: '/' })).statusCode, 303);
    assert.deepEqual(await messageIds(gb), []);
  });

  test(`[${backend}] a moderator hides any message from members and the API; a member may not hide`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    const mod = await signIn(gb, await makeUser(gb, 'mod', 'moderator'));
    await ana.post('/messages', { body: 'Buy cheap watches' });
    const [id] = await messageIds(gb);
    assert.equal((await ana.post(`/messages/${id}/hide`, {}, { from: '/' })).statusCode, 403);
    assert.equal((await mod.post(`/messages/${id}/hide`, {}, { from: '/' })).statusCode, 303);
    assert.doesNotMatch((await ana.get('/')).body, /cheap watches/);
    assert.match((await mod.get('/')).body, /cheap watches/, 'moderators still see it, marked');
    const json = await gb.app.inject({ method: 'GET', url: '/api/guestbook' });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.json(), { messages: [] });
    assert.equal(json.headers['cache-control'], 'no-store', "the API face's answer");
  });

  test(`[${backend}] a script in a message is shown as text, never run`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    await ana.post('/messages', { body: '<script>alert(1)</script><img src=x onerror=alert(2)>' });
    const page = await gb.app.inject({ method: 'GET', url: '/' });
    assert.doesNotMatch(page.body, /<script>alert|<img src=x/);
    assert.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  });

  test(`[${backend}] bad input gets a 4xx, never a 5xx: too long, blank, unknown field, id that is not a number, unknown id`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const ana = await signIn(gb, await makeUser(gb, 'ana'));
    assert.equal((await ana.post('/messages', { body: 'x'.repeat(501) })).statusCode, 422);
    assert.equal((await ana.post('/messages', { body: '   ' })).statusCode, 422);
    assert.equal((await ana.post('/messages', { body: 'hi', admin: 'yes' })).statusCode, 422);
    assert.equal((await ana.post('/messages/abc/delete', {}, { from: '/' })).statusCode, 422);
    assert.equal((await ana.post('/messages/99999/delete', {}, { from: '/' })).statusCode, 404);
    assert.deepEqual(await messageIds(gb), []);
  });

  test(`[${backend}] a route the app adds without saying who may call it stops the start`, async (t) => {
    const gb = await startGuestbook(t, backend);
    const forgetful = async (scope: Parameters<import('bastion').AppRoutes>[0]) => {
      scope.post('/oops', { schema: { body: noBody } }, async () => 'ok');
    };
    await assert.rejects(createBastion(gb.runtime, { pages: [forgetful] }), RouteRuleError);
  });
}

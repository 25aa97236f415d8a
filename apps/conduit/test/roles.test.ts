import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { assertCan, type AuthUser, noBody, queryInteger, type Role, BASTION_STATEMENTS } from 'bastion';
import { CONDUIT_ROLES, can, conduitRoles } from '../src/conduit/roles.js';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// Roles as data, attacked: everything not granted is denied, ownership is checked, and the
// route guard answers an anonymous caller, a member and a moderator as the SPEC says.

const authorize = conduitRoles.authorize;
const user = (id: number, role: Role): AuthUser => ({ id, role, username: `u${id}`, email: `u${id}@example.com`, bio: '', image: null });
const member = user(1, 'member');
const moderator = user(2, 'moderator');
const admin = user(3, 'admin');

test('a member may edit and delete only their own article and comment', () => {
  assert.equal(can(member, 'article:update', { authorId: 1 }), true);
  assert.equal(can(member, 'article:delete', { authorId: 1 }), true);
  assert.equal(can(member, 'comment:delete', { authorId: 1 }), true);
  assert.equal(can(member, 'article:update', { authorId: 9 }), false);
  assert.equal(can(member, 'article:delete', { authorId: 9 }), false);
  assert.equal(can(member, 'comment:delete', { authorId: 9 }), false);
  assert.equal(can(member, 'article:create'), true);
});

test('an ownership grant without a resource, or with a forged author, is denied', () => {
  assert.equal(can(member, 'article:delete'), false);
  assert.equal(can(member, 'article:delete', {}), false);
  assert.equal(can(member, 'article:delete', { authorId: null }), false);
  assert.equal(authorize(member, 'article:delete', { authorId: '1' as unknown as number }), false);
});

test("a moderator may delete anyone's article or comment but not edit it, and has no admin rights", () => {
  assert.equal(can(moderator, 'article:delete', { authorId: 9 }), true);
  assert.equal(can(moderator, 'comment:delete', { authorId: 9 }), true);
  assert.equal(can(moderator, 'article:update', { authorId: 9 }), false);
  for (const action of ['user:set-role', 'user:lock', 'audit:read', 'admin:access'] as const) {
    assert.equal(authorize(moderator, action, { userId: 9 }), false, action);
  }
});

test('an admin has moderator rights plus roles, locks and the audit log, but never on their own account', () => {
  assert.equal(can(admin, 'article:delete', { authorId: 9 }), true);
  assert.equal(can(admin, 'comment:delete', { authorId: 9 }), true);
  assert.equal(authorize(admin, 'audit:read'), true);
  assert.equal(authorize(admin, 'admin:access'), true);
  assert.equal(authorize(admin, 'user:set-role', { userId: 9 }), true);
  assert.equal(authorize(admin, 'user:lock', { userId: 9 }), true);
  assert.equal(authorize(admin, 'user:set-role', { userId: 3 }), false, 'no self-demotion');
  assert.equal(authorize(admin, 'user:lock', { userId: 3 }), false, 'no self-lock');
  assert.equal(authorize(admin, 'user:lock'), false);
  assert.equal(can(admin, 'article:update', { authorId: 9 }), false, "admins do not rewrite other people's words");
});

test('unknown actions, unknown roles, prototype keys and anonymous callers are denied', () => {
  for (const action of ['article:publish', 'toString', '__proto__', 'constructor', 'admin', '', 'user:set-role ']) {
    assert.equal(authorize(admin, action, { authorId: 3, userId: 9 }), false, JSON.stringify(action));
  }
  assert.equal(authorize({ id: 1, role: 'root' as Role }, 'article:create'), false);
  assert.equal(authorize({ id: 1, role: '__proto__' as Role }, 'article:create'), false);
  assert.equal(authorize(null, 'article:create'), false);
  assert.equal(authorize(undefined, 'article:create'), false);
});

test('every granted action is a declared statement', () => {
  const statements = { ...BASTION_STATEMENTS, ...CONDUIT_ROLES.statements };
  const declared = new Set(Object.entries(statements).flatMap(([r, actions]) => actions.map((a: string) => `${r}:${a}`)));
  for (const [role, grants] of Object.entries(conduitRoles.grants)) {
    for (const action of Object.keys(grants)) assert.ok(declared.has(action), `${role}: ${action}`);
  }
});

/** The caller's user comes from a header (tests only), set before the guard runs, as a face's credential would be. */
const users: Record<string, AuthUser> = { member, moderator, admin };
function actAs(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const who = request.headers['x-test-user'];
  request.user = typeof who === 'string' && Object.hasOwn(users, who) ? users[who]! : null;
  done();
}

/** Test-only routes behind guards installed from their declared access. */
const guardedApi: FastifyPluginAsync = async (api) => {
  api.addHook('onRequest', actAs);
  const ok = { 200: { type: 'object', additionalProperties: false, properties: { ok: { type: 'boolean' } } } };
  api.get('/test-admin', { config: { access: 'admin' }, schema: { response: ok } }, async () => ({ ok: true }));
  api.get('/test-moderate', { config: { access: 'moderator' }, schema: { response: ok } }, async () => ({ ok: true }));
  api.delete<{ Querystring: { authorId: number } }>(
    '/test-content',
    {
      config: { access: 'public' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['authorId'],
          properties: { authorId: queryInteger({ minimum: 1, maximum: 2_147_483_647 }) },
        },
        body: noBody,
        response: { 200: { type: 'object', additionalProperties: false, properties: { deleted: { type: 'boolean' } } } },
      },
    },
    async (request) => {
      await assertCan(request, 'article:delete', { authorId: request.query.authorId });
      return { deleted: true };
    },
  );
};
const guardedPages: FastifyPluginAsync = async (pages) => {
  pages.addHook('onRequest', actAs);
  pages.get('/test-admin-page', { config: { access: 'admin' } }, async () => 'ok');
};
const withGuardedRoutes = { extraRoutes: { api: guardedApi, pages: guardedPages } };

for (const backend of BACKENDS) {
  test(`[${backend}] an admin route: anonymous gets 401 on /api and the login page for HTML`, async (t) => {
    const { app } = await startTestApp(t, backend, {}, {}, withGuardedRoutes);
    assert.equal((await app.inject('/api/test-admin')).statusCode, 401);
    const page = await app.inject('/test-admin-page?x=1');
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, `/login?next=${encodeURIComponent('/test-admin-page?x=1')}`);
  });

  test(`[${backend}] an admin route: a member and a moderator are refused with 403, and the denial is audited`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {}, {}, withGuardedRoutes);
    for (const who of ['member', 'moderator']) {
      const res = await app.inject({ url: '/api/test-admin', headers: { 'x-test-user': who } });
      assert.equal(res.statusCode, 403, who);
    }
    assert.equal((await app.inject({ url: '/test-admin-page', headers: { 'x-test-user': 'member' } })).statusCode, 403);
    assert.equal((await app.inject({ url: '/api/test-admin', headers: { 'x-test-user': 'admin' } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/test-moderate', headers: { 'x-test-user': 'moderator' } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/test-moderate', headers: { 'x-test-user': 'admin' } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/test-moderate', headers: { 'x-test-user': 'member' } })).statusCode, 403);
    const denials = await runtime.db.kysely.selectFrom('audit_log').selectAll().where('event', '=', 'authz.deny').orderBy('id').execute();
    assert.deepEqual(
      denials.map((d) => d.actor_name),
      ['u1', 'u2', 'u1', 'u1'],
    );
    assert.deepEqual(JSON.parse(denials[0]!.details), { method: 'GET', route: '/api/test-admin', need: 'admin' });
  });

  test(`[${backend}] assertCan: a moderator deletes another's content, a member cannot`, async (t) => {
    const { app } = await startTestApp(t, backend, {}, {}, withGuardedRoutes);
    const del = (who: string, authorId: number) =>
      app.inject({ method: 'DELETE', url: `/api/test-content?authorId=${authorId}`, headers: { 'x-test-user': who } });
    assert.equal((await del('moderator', 1)).statusCode, 200);
    assert.equal((await del('member', 1)).statusCode, 200, 'own content');
    assert.equal((await del('member', 2)).statusCode, 403);
    assert.equal((await del('nobody', 1)).statusCode, 401);
  });
}

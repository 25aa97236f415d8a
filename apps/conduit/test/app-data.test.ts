import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AdminTabOptionError,
  assertCan,
  AuditEventError,
  createBastion,
  loadConfig,
  noBody,
  openRuntime,
  RoleOptionError,
  RouteRuleError,
  SiteOptionError,
  WriteLimitError,
  type AppRoutes,
  type BastionOptions,
  type Runtime,
} from 'bastion';
import { type BackendName, BACKENDS, isolate, loggedInBrowser, randomKey } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';

// What an application hands Bastion as data (issue 18): its name, its roles and grants, its admin
// tabs, its audit events and its write limits. Each is checked at start, so a name that is not
// declared stops the app instead of granting, logging or limiting nothing; and nothing of
// Conduit's (its name, its moderator rights, its Content tab, its events and limits) reaches an
// app that did not ask for it.

const quiet = new Writable({ write: (_chunk, _enc, cb) => cb() });

async function openBare(t: TestContext, backend: BackendName): Promise<Runtime> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), LOG_LEVEL: 'warn', ...iso.env }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix });
  t.after(async () => {
    await runtime.close();
    await iso.cleanup();
  });
  return runtime;
}

async function startApp(
  t: TestContext,
  backend: BackendName,
  options: BastionOptions,
): Promise<{ app: FastifyInstance; runtime: Runtime }> {
  const runtime = await openBare(t, backend);
  const app = await createBastion(runtime, { logStream: quiet, ...options });
  t.after(() => app.close());
  return { app, runtime };
}

// "Notes": members write notes (two a minute), moderators pin them, which is audited.
const flag = (name: string) => ({ 200: { type: 'object', additionalProperties: false, properties: { [name]: { type: 'boolean' } } } });
const notesApi: AppRoutes = async (api) => {
  api.post('/notes', { config: { access: 'member' }, schema: { body: noBody, response: flag('written') } }, async (request) => {
    await api.writeLimit(request, 'note');
    return { written: true };
  });
  api.post('/notes/pin', { config: { access: 'member' }, schema: { body: noBody, response: flag('pinned') } }, async (request) => {
    await assertCan(request, 'note:pin');
    await api.audit(request, 'note.pin');
    return { pinned: true };
  });
};
const notesPages: AppRoutes = async (pages) => {
  pages.get('/admin/notes', { config: { access: 'moderator' } }, async (request) => ({ tabs: pages.adminTabs(request.member, 'notes') }));
};
const NOTES = {
  site: { name: 'Notes' },
  roles: { statements: { note: ['pin'] }, moderator: { 'note:pin': 'any' } },
  adminTabs: [{ key: 'notes', href: '/admin/notes', label: 'Notes', access: 'moderator' }],
  auditEvents: ['note.pin'],
  writeLimits: { note: { points: 2, duration: 60 } },
  api: { routes: [notesApi] },
  pages: [notesPages],
} as const satisfies BastionOptions;

const REFUSED: ReadonlyArray<{ what: string; options: BastionOptions; error: new (...args: never[]) => Error }> = [
  { what: 'a role Bastion does not have', options: { roles: { editor: {} } as never }, error: RoleOptionError },
  { what: "grants for Bastion's admin", options: { roles: { admin: {} } as never }, error: RoleOptionError },
  {
    what: 'a grant of an undeclared action',
    options: { roles: { statements: { note: ['pin'] }, member: { 'note:delete': 'own' } } },
    error: RoleOptionError,
  },
  {
    what: "a grant of Bastion's admin rights to members",
    options: { roles: { member: { 'user:lock': 'others' } } },
    error: RoleOptionError,
  },
  { what: "a resource named like Bastion's", options: { roles: { statements: { audit: ['erase'] } } }, error: RoleOptionError },
  {
    what: 'a grant in an unknown scope',
    options: { roles: { statements: { note: ['pin'] }, member: { 'note:pin': 'all' as never } } },
    error: RoleOptionError,
  },
  {
    what: 'a moderator route in an app without moderators',
    options: { pages: [async (s) => void s.get('/m', { config: { access: 'moderator' } }, async () => 'x')] },
    error: RouteRuleError,
  },
  {
    what: 'an API route without a response schema, wherever the API is mounted',
    options: {
      api: { prefix: '/v2', routes: [async (s) => void s.get('/notes', { config: { access: 'public' } }, async () => ({ notes: [] }))] },
    },
    error: RouteRuleError,
  },
  {
    what: 'a site name with a line break (a mail header)',
    options: { site: { name: 'Notes\r\nBcc: x@evil.example' } },
    error: SiteOptionError,
  },
  { what: 'an empty site name', options: { site: { name: ' ' } }, error: SiteOptionError },
  { what: 'a site.writes with a line break', options: { site: { name: 'Notes', writes: 'notes\nBcc: x' } }, error: SiteOptionError },
  {
    what: 'a profile path to another host',
    options: { site: { name: 'Notes', profilePath: '//evil.example/:username' } },
    error: SiteOptionError,
  },
  {
    what: 'a profile path with a scheme',
    options: { site: { name: 'Notes', profilePath: 'javascript:alert(1)//:username' } },
    error: SiteOptionError,
  },
  { what: 'a profile path without :username', options: { site: { name: 'Notes', profilePath: '/people' } }, error: SiteOptionError },
  {
    what: 'a profile path with a query',
    options: { site: { name: 'Notes', profilePath: '/people/:username?x="><script>' } },
    error: SiteOptionError,
  },
  {
    what: 'an admin tab for moderators in an app without them',
    options: { adminTabs: [{ key: 'notes', href: '/admin/notes', label: 'Notes', access: 'moderator' }] },
    error: AdminTabOptionError,
  },
  {
    what: "an admin tab that takes Bastion's key",
    options: { adminTabs: [{ key: 'users', href: '/admin/people', label: 'People', access: 'admin' }] },
    error: AdminTabOptionError,
  },
  {
    what: 'an admin tab outside /admin',
    options: { adminTabs: [{ key: 'x', href: 'https://evil.example/admin/x', label: 'X', access: 'admin' }] },
    error: AdminTabOptionError,
  },
  { what: 'an audit event Bastion has already', options: { auditEvents: ['login.success'] }, error: AuditEventError },
  { what: 'an audit event that is no name', options: { auditEvents: ['Note Pinned\n'] }, error: AuditEventError },
  {
    what: "a write limit on Bastion's kind",
    options: { writeLimits: { profile: { points: 1000, duration: 60 } } },
    error: WriteLimitError,
  },
  { what: 'a write limit that limits nothing', options: { writeLimits: { note: { points: 0, duration: 60 } } }, error: WriteLimitError },
];

for (const backend of BACKENDS) {
  test(`[${backend}] undeclared or Bastion-owned names in an app's data stop the start`, async (t) => {
    const runtime = await openBare(t, backend);
    for (const { what, options, error } of REFUSED) {
      await assert.rejects(createBastion(runtime, { logStream: quiet, ...options }), error, what);
    }
  });

  test(`[${backend}] an app without a name of its own is a neutral "Bastion app", with no Conduit page, link or right`, async (t) => {
    const { app, runtime } = await startApp(t, backend, {});
    const login = await app.inject('/login');
    assert.match(login.body, /<title>Sign in — Bastion app<\/title>/);
    assert.doesNotMatch(login.body, /conduit|href="\/editor"/i);
    const admin = await loggedInBrowser(app, { ...(await makeUser(app, runtime, 'root', 'admin')), password: STRONG_PASSWORD });
    const users = await admin.get('/admin');
    assert.equal(users.statusCode, 200);
    assert.doesNotMatch(users.body, />Content<|\/admin\/content|conduit/i);
    assert.doesNotMatch(users.body, /<option value="moderator"/, 'no moderator role to give');
    assert.doesNotMatch((await admin.get('/admin/audit')).body, /content\.moderate/);
    assert.equal(
      app.roles.authorize({ id: 1, role: 'admin' }, 'article:delete', { authorId: 2 }),
      false,
      "Conduit's rights are not Bastion's",
    );
  });

  test(`[${backend}] a role without the grant cannot reach it: members are refused and audited, the app's moderators pass`, async (t) => {
    const { app, runtime } = await startApp(t, backend, NOTES);
    const member = await makeUser(app, runtime, 'ann');
    const mod = await makeUser(app, runtime, 'mo', 'moderator');
    const root = await makeUser(app, runtime, 'root', 'admin');
    assert.equal((await api(app, 'POST', '/api/notes/pin', { user: member })).statusCode, 403);
    assert.equal((await api(app, 'POST', '/api/notes/pin', { user: mod })).statusCode, 200);
    assert.equal((await api(app, 'POST', '/api/notes/pin', { user: root })).statusCode, 200, "the admin has the moderator's grants");
    const rows = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'actor_name'])
      .where('event', 'in', ['note.pin', 'authz.deny'])
      .orderBy('id')
      .execute();
    assert.deepEqual(rows, [
      { event: 'authz.deny', actor_name: 'ann' },
      { event: 'note.pin', actor_name: 'mo' },
      { event: 'note.pin', actor_name: 'root' },
    ]);
    // An event or a write kind nobody registered is a bug, not a silent no-op.
    await assert.rejects(app.audit({} as FastifyRequest, 'content.moderate'), AuditEventError);
    await assert.rejects(app.writeLimit({} as FastifyRequest, 'article'), WriteLimitError);
  });

  test(`[${backend}] the app's write limit counts per account: the third note in a minute is 429`, async (t) => {
    const { app, runtime } = await startApp(t, backend, NOTES);
    const ann = await makeUser(app, runtime, 'ann');
    const bob = await makeUser(app, runtime, 'bob');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api(app, 'POST', '/api/notes', { user: ann })).statusCode);
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal((await api(app, 'POST', '/api/notes', { user: bob })).statusCode, 200, 'another account has its own count');
  });

  test(`[${backend}] the app's admin tab is shown to the roles its access names, and its name is in the titles`, async (t) => {
    const { app, runtime } = await startApp(t, backend, NOTES);
    const mod = await loggedInBrowser(app, { ...(await makeUser(app, runtime, 'mo', 'moderator')), password: STRONG_PASSWORD });
    const settings = await mod.get('/settings');
    assert.match(settings.body, /<title>[^<]+ — Notes<\/title>/);
    assert.match(settings.body, /<a href="\/admin\/notes">Admin<\/a>/, "the moderator's admin link goes to the one tab they may open");
    assert.deepEqual(app.adminTabs({ id: 9, role: 'moderator', username: 'mo', email: 'mo@example.com', bio: '', image: null }, 'notes'), [
      { href: '/admin/notes', label: 'Notes', current: true },
    ]);
    assert.equal((await mod.get('/admin')).statusCode, 403);
    const admin = await loggedInBrowser(app, { ...(await makeUser(app, runtime, 'root', 'admin')), password: STRONG_PASSWORD });
    const users = await admin.get('/admin');
    assert.match(users.body, /href="\/admin\/notes"/);
    assert.match(users.body, /<option value="moderator"/, 'an app with moderators may make one');
    assert.match((await admin.get('/admin/audit')).body, /value="note.pin"/, "the audit filter offers the app's event");
  });
}

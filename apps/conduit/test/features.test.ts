import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Generated } from 'kysely';
import {
  createBastion,
  createTableWithId,
  defineFeature,
  FeatureError,
  formBody,
  loadConfig,
  migrateToLatest,
  noBody,
  noContent,
  openRuntime,
  RouteRuleError,
  type AppMigrations,
  type Feature,
  type Runtime,
} from 'bastion';
import { type BackendName, BACKENDS, isolate, loggedInBrowser, randomKey } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';

// A feature declared in one module (packages/bastion/src/features/define-feature.ts) and merged by createBastion:
// its migrations under its own name, its routes inside the faces (so the faces' rules hold), its
// templates confined to its own folder, its limits and audit events wired to Bastion's. Each
// mistake in a declaration stops the start, before any request.

const VIEWS = (name: string): string => fileURLToPath(new URL(`./fixtures/feature-views/${name}/`, import.meta.url));

interface NotesTable {
  id: Generated<number>;
  author_id: number;
  body: string;
}
const notesOf = (runtime: Runtime) => runtime.db.kysely.$extendTables<{ notes: NotesTable }>();

/** A small feature: a member's notes, a page to add them, a JSON list, a limit and one audit event. */
function notesFeature(overrides: { name?: string; views?: string; limit?: string } = {}): Feature {
  return defineFeature({
    name: overrides.name ?? 'notes',
    migrations: (db) => ({
      '001-notes': {
        async up(k) {
          await createTableWithId(k, db.dialect, 'notes')
            .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
            .addColumn('body', 'varchar(100)', (c) => c.notNull())
            .execute();
        },
        async down(k) {
          await k.schema.dropTable('notes').execute();
        },
      },
    }),
    views: overrides.views ?? VIEWS('notes'),
    limits: { add: { points: 2, duration: 60 } },
    auditEvents: ['add'],
    async pages(scope, notes) {
      scope.get('/notes', { config: { access: 'member' } }, async function notesPage(request, reply) {
        const rows = await notesOf(notes.runtime).selectFrom('notes').select('body').where('author_id', '=', request.member.id).execute();
        return reply.page('notes/home', { title: 'Notes', notes: rows });
      });
      scope.post<{ Body: { body: string } }>(
        '/notes',
        {
          config: { access: 'member', limit: overrides.limit ?? 'add' },
          schema: { body: formBody({ body: { type: 'string', minLength: 1, maxLength: 100 } }, ['body']) },
        },
        async function addNote(request, reply) {
          await notesOf(notes.runtime).insertInto('notes').values({ author_id: request.member.id, body: request.body.body }).execute();
          await notes.audit(request, 'add', { details: { length: request.body.body.length } });
          return reply.redirect('/notes', 303);
        },
      );
    },
    async api(scope, notes) {
      const notesAnswer = {
        type: 'object',
        additionalProperties: false,
        properties: {
          notes: { type: 'array', items: { type: 'object', additionalProperties: false, properties: { body: { type: 'string' } } } },
        },
      } as const;
      scope.get('/notes', { config: { access: 'member' }, schema: { response: { 200: notesAnswer } } }, async function notesJson(request) {
        return {
          notes: await notesOf(notes.runtime).selectFrom('notes').select('body').where('author_id', '=', request.member.id).execute(),
        };
      });
      scope.delete(
        '/notes',
        { config: { access: 'member', limit: 'add' }, schema: { body: noBody, response: { 204: noContent } } },
        async function clearNotes(request, reply) {
          await notesOf(notes.runtime).deleteFrom('notes').where('author_id', '=', request.member.id).execute();
          return reply.code(204).send();
        },
      );
    },
  });
}

async function openStore(t: TestContext, backend: BackendName): Promise<Runtime> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), LOG_LEVEL: 'warn', ...iso.env }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix });
  t.after(async () => {
    await runtime.close();
    await iso.cleanup();
  });
  return runtime;
}

async function build(t: TestContext, runtime: Runtime, features: readonly Feature[]): Promise<FastifyInstance> {
  const app = await createBastion(runtime, { features, logStream: new Writable({ write: (_c, _e, cb) => cb() }) });
  t.after(() => app.close());
  return app;
}

test('defineFeature refuses a name or a declaration that could clash or overflow', () => {
  for (const name of ['App', 'app', 'bastion', '1notes', 'my_notes', 'a'.repeat(33), '']) {
    assert.throws(() => defineFeature({ name }), FeatureError, name);
  }
  assert.throws(() => defineFeature({ name: 'notes', limits: { 'Add!': { points: 1, duration: 60 } } }), FeatureError);
  assert.throws(() => defineFeature({ name: 'notes', limits: { add: { points: 0, duration: 60 } } }), FeatureError);
  assert.throws(() => defineFeature({ name: 'notes', limits: { add: { points: 1.5, duration: 60 } } }), FeatureError);
  assert.throws(() => defineFeature({ name: 'notes', auditEvents: ['add', 'add'] }), FeatureError);
  assert.throws(
    () => defineFeature({ name: 'notes', auditEvents: ['x'.repeat(32)] }),
    FeatureError,
    'the whole event must fit audit_log.event',
  );
  assert.deepEqual(defineFeature({ name: 'n'.repeat(32), auditEvents: ['e'.repeat(31)] }).auditEvents[0]!.length, 64);
});

for (const backend of BACKENDS) {
  test(`[${backend}] a feature's table comes up under its own name, and a run of Bastion's migrations alone still accepts the database`, async (t) => {
    const runtime = await openStore(t, backend);
    await build(t, runtime, [notesFeature()]);
    const applied = await runtime.db.kysely
      .$extendTables<{ kysely_migration: { name: string } }>()
      .selectFrom('kysely_migration')
      .select('name')
      .where('name', 'like', '%:%')
      .execute();
    assert.deepEqual(
      applied.map((r) => r.name),
      ['notes:001-notes'],
    );
    // `bastion create-admin`, `bastion migrate` … know Bastion's migrations only.
    assert.deepEqual(await migrateToLatest(runtime.db), []);
    // Built again (another instance, a restart): nothing to apply, nothing refused.
    await build(t, runtime, [notesFeature()]);
  });

  test(`[${backend}] openRuntime given the features brings their tables up in its own migration run, beside the app's; a name both claim is refused`, async (t) => {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
    const stores = { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix };
    const clashing: AppMigrations = () => ({ 'notes:001-notes': { async up() {} } });
    await assert.rejects(
      openRuntime(config, { ...stores, migrations: clashing, features: [notesFeature()] }),
      /clash with a feature's: notes:001-notes/,
    );
    const own: AppMigrations = () => ({ 'app:001-nothing': { async up() {} } });
    const runtime = await openRuntime(config, { ...stores, migrations: own, features: [notesFeature()] });
    t.after(() => runtime.close());
    const applied = await runtime.db.kysely
      .$extendTables<{ kysely_migration: { name: string } }>()
      .selectFrom('kysely_migration')
      .select('name')
      .where('name', 'like', '%:%')
      .orderBy('name')
      .execute();
    assert.deepEqual(
      applied.map((r) => r.name),
      ['app:001-nothing', 'notes:001-notes'],
    );
  });

  test(`[${backend}] a feature's routes live in the faces: the page needs its CSRF token, the API its bearer token; its limit and audit event are Bastion's`, async (t) => {
    const runtime = await openStore(t, backend);
    const app = await build(t, runtime, [notesFeature()]);
    const ana = await makeUser(app, runtime, 'ana');
    const browser = await loggedInBrowser(app, { email: ana.email, password: STRONG_PASSWORD, username: ana.username });
    assert.equal((await browser.post('/notes', { body: 'no token' }, { csrf: false })).statusCode, 403);
    assert.equal(
      (await browser.post('/notes', { body: 'first', extra: 'x' }, { from: '/notes' })).statusCode,
      422,
      "the feature's schema, closed by formBody",
    );
    assert.equal((await browser.post('/notes', { body: 'first' }, { from: '/notes' })).statusCode, 303);
    assert.match((await browser.get('/notes')).body, /<li>first<\/li>/, "the feature's own template");
    assert.equal((await browser.post('/notes', { body: 'second' }, { from: '/notes' })).statusCode, 303);
    const third = await browser.post('/notes', { body: 'third' }, { from: '/notes' });
    assert.equal(third.statusCode, 429, 'the declared limit: 2 a minute');
    assert.ok(Number(third.headers['retry-after']) > 0);
    const events = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'actor_id', 'details'])
      .where('event', 'in', ['notes:add', 'ratelimit.hit'])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      events.map((e) => e.event),
      ['notes:add', 'notes:add', 'ratelimit.hit'],
    );
    assert.equal(events[0]!.actor_id, ana.id);
    assert.equal(JSON.parse(events[2]!.details).limit, 'notes:add');

    assert.deepEqual((await api(app, 'GET', '/api/notes', { user: ana })).json(), { notes: [{ body: 'first' }, { body: 'second' }] });
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/notes', headers: { cookie: browser.cookieHeader } })).statusCode,
      401,
      'no cookie in the API face',
    );
    assert.equal(
      (await app.inject({ method: 'GET', url: '/notes' })).headers.location,
      '/login?next=%2Fnotes',
      'an anonymous visitor is sent to sign in',
    );
    assert.equal((await api(app, 'DELETE', '/api/notes', { user: ana })).statusCode, 429, 'one limit, counted across both faces');
  });

  test(`[${backend}] a feature declared twice, a route naming a limit its feature lacks, or views beyond its own folder stop the start`, async (t) => {
    const runtime = await openStore(t, backend);
    await assert.rejects(createBastion(runtime, { features: [notesFeature(), notesFeature()] }), /features declared twice: notes/);
    await assert.rejects(
      createBastion(runtime, { features: [notesFeature({ limit: 'none' })] }),
      (err: unknown) => err instanceof RouteRuleError && /declares no limit 'none'/.test(err.message),
    );
    await assert.rejects(
      createBastion(runtime, { features: [notesFeature({ name: 'stray', views: VIEWS('stray') })] }),
      /may hold only stray\/, not layout\.eta/,
    );
  });
}

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildApp, type AppOptions } from '../src/app.js';
import { loadConfig, noBody, noContent, openRuntime } from 'bastion';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { BACKENDS, isolate, randomKey, type BackendName } from 'bastion/testing';

// A route that would take unchecked input or has no declared access never starts: the app
// refuses it when it is registered (packages/bastion/src/http/route-rules.ts), with a message that says what to
// add, instead of serving it and failing on the first hostile request.

/** buildApp with extra routes; the runtime is closed even when the build is refused. */
async function build(t: TestContext, backend: BackendName, extraRoutes: NonNullable<AppOptions['extraRoutes']>): Promise<FastifyInstance> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix, migrations: conduitMigrations });
  const built: { app?: FastifyInstance } = {};
  t.after(async () => {
    await built.app?.close();
    await runtime.close();
    await iso.cleanup();
  });
  return (built.app = await buildApp(runtime, { extraRoutes }));
}

const api = (plugin: FastifyPluginAsync) => ({ api: plugin });
const pages = (plugin: FastifyPluginAsync) => ({ pages: plugin });
const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 8 } },
} as const;
const form = { type: 'object', additionalProperties: false, properties: { _csrf: { type: 'string', maxLength: 128 } } } as const;
const ok = { 200: { type: 'object', additionalProperties: false, properties: { ok: { type: 'boolean' } } } } as const;

const REFUSED: ReadonlyArray<{ what: string; routes: NonNullable<AppOptions['extraRoutes']>; message: RegExp }> = [
  {
    what: 'an API route with no access declaration',
    routes: api(async (a) => void a.get('/undeclared', { schema: { response: ok } }, async () => ({ ok: true }))),
    message:
      /^GET \/api\/undeclared is refused: it must declare who may call it: config: \{ access: 'public' \| 'member' \| 'moderator' \| 'admin' \}\.$/,
  },
  {
    what: 'a page with an access value that is not one of the four',
    routes: pages(async (p) => void p.get('/typo', { config: { access: 'members' as 'member' } }, async () => 'x')),
    message: /GET \/typo is refused: it must declare who may call it/,
  },
  {
    what: 'a path parameter without a params schema',
    routes: api(async (a) => void a.get('/things/:id', { config: { access: 'public' }, schema: { response: ok } }, async () => ({}))),
    message: /GET \/api\/things\/:id is refused: it must declare a params schema for its path parameter 'id'\./,
  },
  {
    what: 'a params schema that leaves one of the parameters out',
    routes: api(
      async (a) =>
        void a.get('/things/:id/:part', { config: { access: 'public' }, schema: { params: idParams, response: ok } }, async () => ({})),
    ),
    message: /a params schema for its path parameter 'part'/,
  },
  {
    what: 'a POST without a body schema',
    routes: pages(async (p) => void p.post('/submit', { config: { access: 'member' } }, async () => 'x')),
    message: /POST \/submit is refused: it must declare a body schema \(noBody from src\/http\/route-rules\.ts if it takes none\)\./,
  },
  {
    what: 'a DELETE without a body schema',
    routes: api(
      async (a) =>
        void a.delete('/things/:id', { config: { access: 'member' }, schema: { params: idParams, response: ok } }, async () => ({})),
    ),
    message: /DELETE \/api\/things\/:id is refused: it must declare a body schema/,
  },
  // Re-authentication (packages/bastion/src/auth/reauth.ts): only a signed-in caller of the pages can have proved
  // who they are again; a declaration that could never be met is refused, not silently ignored.
  {
    what: 'a public page declaring reauth',
    routes: pages(async (p) => void p.get('/open-sensitive', { config: { access: 'public', reauth: true } }, async () => 'x')),
    message: /^GET \/open-sensitive is refused: it must declare an access of 'member' or higher for reauth: true/,
  },
  {
    what: 'an API route declaring reauth (a bearer token has no session to remember a proof)',
    routes: api(
      async (a) => void a.get('/sensitive', { config: { access: 'member', reauth: true }, schema: { response: ok } }, async () => ({})),
    ),
    message: /^GET \/api\/sensitive is refused: it must declare reauth: true only in the pages' scope/,
  },
  // The API's answers leave through their schema (fast-json-stringify sends only what it declares).
  {
    what: 'an API route without a response schema',
    routes: api(async (a) => void a.get('/no-answer', { config: { access: 'public' } }, async () => ({ ok: true }))),
    message: /^GET \/api\/no-answer is refused: it must declare a response schema for its success: schema\.response with a 2xx key/,
  },
  {
    what: 'an API route whose response schema describes only a failure',
    routes: api(
      async (a) =>
        void a.get('/only-404', { config: { access: 'public' }, schema: { response: { 404: ok[200] } } }, async () => ({ ok: true })),
    ),
    message: /^GET \/api\/only-404 is refused: it must declare a response schema for its success/,
  },
  {
    what: 'an API route without a response schema in a scope nested inside the API, under a prefix of its own',
    routes: api(async (a) => {
      await a.register(async (inner) => void inner.get('/deep', { config: { access: 'public' } }, async () => ({ ok: true })), {
        prefix: '/nested',
      });
    }),
    message: /^GET \/api\/nested\/deep is refused: it must declare a response schema/,
  },
  {
    what: 'a reauth value that is not a boolean',
    routes: pages(
      async (p) => void p.get('/typo-sensitive', { config: { access: 'member', reauth: 'yes' as unknown as boolean } }, async () => 'x'),
    ),
    message: /GET \/typo-sensitive is refused: it must declare reauth as true or false/,
  },
];

for (const backend of BACKENDS) {
  for (const { what, routes, message } of REFUSED) {
    test(`[${backend}] refused at registration: ${what}`, async (t) => {
      await assert.rejects(build(t, backend, routes), (err: Error) => {
        assert.equal(err.name, 'RouteRuleError');
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test(`[${backend}] refused at registration: a route added on the root, outside both faces`, async (t) => {
    const app = await build(t, backend, {});
    assert.throws(
      () => app.get('/loose', async () => 'x'),
      (err: Error) => err.name === 'RouteRuleError' && /^GET \/loose is refused: it must declare who may call it/.test(err.message),
    );
  });

  test(`[${backend}] every missing declaration is named in one refusal`, async (t) => {
    const routes = api(async (a) => void a.put('/things/:id', async () => ({})));
    await assert.rejects(build(t, backend, routes), (err: Error) => {
      assert.match(
        err.message,
        /^PUT \/api\/things\/:id is refused: it must declare who may call it: .+; a params schema for its path parameter 'id'; a body schema .+; a response schema for its success: .+\.$/,
      );
      return true;
    });
  });

  test(`[${backend}] a route that declares everything is served, and one without a query schema sees no query`, async (t) => {
    const app = await build(t, backend, {
      api: async (a) => {
        // Open on purpose: the answer shows whatever query reached the handler.
        const echoed = { type: 'object', properties: { query: { type: 'object', additionalProperties: true } } } as const;
        a.get('/echo-query', { config: { access: 'public' }, schema: { response: { 200: echoed } } }, async (request) => ({
          query: request.query,
        }));
        a.delete<{ Params: { id: string } }>(
          '/things/:id',
          {
            config: { access: 'public' },
            schema: { params: idParams, body: noBody, response: { 200: { type: 'object', properties: { id: { type: 'string' } } } } },
          },
          async (request) => ({ id: request.params.id }),
        );
      },
      pages: async (p) => void p.post('/submit', { config: { access: 'public' }, schema: { body: form } }, async () => 'ok'),
    });
    // Whether an undeclared parameter is dropped or refused is the query validator's policy
    // (packages/bastion/src/http/validation.ts); either way it never reaches the handler.
    const echo = await app.inject({ url: '/api/echo-query?role=admin&id=1&__proto__=x' });
    if (echo.statusCode !== 422) {
      assert.equal(echo.statusCode, 200);
      assert.deepEqual(echo.json(), { query: {} }, 'a parameter the route never declared never reaches it');
    }
    const del = await app.inject({ method: 'DELETE', url: '/api/things/abc' });
    assert.equal(del.statusCode, 200);
    const withBody = await app.inject({
      method: 'DELETE',
      url: '/api/things/abc',
      headers: { 'content-type': 'application/json' },
      payload: { role: 'admin' },
    });
    assert.equal(withBody.statusCode, 422, 'noBody takes no fields');
  });

  test(`[${backend}] an API answer carries only what its response schema declares, at any depth; pages need none, even under /api`, async (t) => {
    const profile = { type: 'object', additionalProperties: false, properties: { username: { type: 'string' } } } as const;
    const app = await build(t, backend, {
      api: async (a) => {
        // A handler that hands over whole rows, as a careless one would.
        a.get(
          '/careless',
          {
            config: { access: 'public' },
            schema: {
              response: {
                200: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { user: profile, authors: { type: 'array', items: profile } },
                },
              },
            },
          },
          async () => ({
            user: { username: 'alice', password_hash: '$argon2id$v=19$secret', email: 'alice@example.com' },
            authors: [{ username: 'bob', password_hash: '$argon2id$v=19$other' }],
            role: 'admin',
          }),
        );
        a.delete(
          '/gone',
          { config: { access: 'public' }, schema: { body: noBody, response: { 204: noContent } } },
          async (_request, reply) => reply.code(204).send(),
        );
      },
      // The pages render HTML: no response schema is asked of them, whatever their URL looks like.
      pages: async (p) => void p.get('/api-guide', { config: { access: 'public' } }, async () => 'the guide'),
    });
    const careless = await app.inject('/api/careless');
    assert.equal(careless.statusCode, 200);
    assert.equal(careless.body, '{"user":{"username":"alice"},"authors":[{"username":"bob"}]}');
    assert.doesNotMatch(careless.body, /argon2|password_hash|alice@example\.com|admin/);
    const gone = await app.inject({ method: 'DELETE', url: '/api/gone' });
    assert.equal(gone.statusCode, 204);
    assert.equal(gone.body, '');
    const guide = await app.inject('/api-guide');
    assert.equal(guide.statusCode, 200);
    assert.equal(guide.body, 'the guide');
  });
}

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, FastifyPluginAsync, RouteOptions } from 'fastify';
import { buildApp, type AppOptions } from '../src/app.js';
import { type Access, loadConfig, openRuntime, type Runtime } from 'bastion';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { type BackendName, BACKENDS, isolate, randomKey, TestClient } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';

// Deny by default, by construction: every route declares its access and the guard comes from
// that declaration. The routes are read from the app as it registers them, so a route added
// tomorrow is attacked here without anyone listing it: anonymous callers of every route not
// declared public get 401 (API) or the login page (pages), never a handler and never a 500.

interface Declared {
  readonly method: string;
  readonly url: string;
  readonly access: Access | undefined;
  readonly api: boolean;
}

async function build(
  t: TestContext,
  backend: BackendName,
  extraRoutes: AppOptions['extraRoutes'] = {},
): Promise<{ app: FastifyInstance; runtime: Runtime; routes: Declared[] }> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix, migrations: conduitMigrations });
  const built: { app?: FastifyInstance } = {};
  t.after(async () => {
    await built.app?.close();
    await runtime.close();
    await iso.cleanup();
  });
  const routes: Declared[] = [];
  const onRoute = (route: RouteOptions & { prefix?: string }): void => {
    for (const method of [route.method].flat()) {
      // The implicit HEAD of each GET is guarded with it.
      if (method !== 'HEAD') routes.push({ method, url: route.url, access: route.config?.access, api: route.prefix === '/api' });
    }
  };
  const app = (built.app = await buildApp(runtime, { extraRoutes, onRoute }));
  return { app, runtime, routes };
}

/** A concrete URL for a route pattern: every parameter gets a value its schema accepts. */
const concrete = (url: string): string => url.replace(/:id\b/g, '1').replace(/:\w+/g, 'someone').replace('*', 'x');

for (const backend of BACKENDS) {
  test(`[${backend}] every route not declared public refuses anonymous callers: 401 on the API, the login page for pages`, async (t) => {
    const { app, routes } = await build(t, backend);
    const guarded = routes.filter((r) => r.access !== undefined && r.access !== 'public');
    assert.ok(
      guarded.filter((r) => r.api).length >= 10 && guarded.filter((r) => !r.api).length >= 15,
      `found the guarded routes (${guarded.length})`,
    );
    for (const route of guarded) {
      const url = concrete(route.url);
      const res = await app.inject({ method: route.method as 'GET', url });
      const what = `${route.method} ${route.url} (${route.access})`;
      if (route.api) {
        assert.equal(res.statusCode, 401, what);
        assert.deepEqual(Object.keys(res.json().errors), ['body'], what);
      } else {
        assert.equal(res.statusCode, 303, what);
        assert.equal(res.headers.location, `/login?next=${encodeURIComponent(route.method === 'GET' ? url : '/')}`, what);
      }
      // The HEAD Fastify adds beside each GET carries the same guard.
      if (route.method === 'GET') assert.equal((await app.inject({ method: 'HEAD', url })).statusCode, res.statusCode, `HEAD ${route.url}`);
    }
  });

  test(`[${backend}] every route declared for moderators or admins refuses a member: 403`, async (t) => {
    const { app, runtime, routes } = await build(t, backend);
    const member = await createUser(runtime);
    const token = await app.apiTokens.issue(member.id);
    const browser = new TestClient(app);
    assert.equal((await browser.login(member.email, member.password)).statusCode, 303);
    const staff = routes.filter((r) => r.access === 'moderator' || r.access === 'admin');
    assert.ok(staff.length >= 5, `found the staff routes (${staff.length})`);
    for (const route of staff) {
      const headers = route.api ? { authorization: `Token ${token}` } : { cookie: browser.cookieHeader };
      const res = await app.inject({ method: route.method as 'GET', url: concrete(route.url), headers });
      assert.equal(res.statusCode, 403, `${route.method} ${route.url}`);
    }
  });

  test(`[${backend}] every route the app registers declares its access`, async (t) => {
    const { routes } = await build(t, backend);
    // The two vendor routes (static files, the CORS preflight) are public by registration.
    const undeclared = routes.filter((r) => r.access === undefined).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(undeclared.sort(), ['GET /static/*', 'OPTIONS /api*']);
  });

  test(`[${backend}] a handler reading request.member on a route loosened to public answers 401 or the login page, never 500`, async (t) => {
    const loosened: FastifyPluginAsync = async (scope) => {
      const named = { 200: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } } };
      scope.get('/loosened', { config: { access: 'public' }, schema: { response: named } }, async (request) => ({
        name: request.member.username,
      }));
    };
    const { app } = await build(t, backend, { api: loosened, pages: loosened });
    const api = await app.inject('/api/loosened');
    assert.equal(api.statusCode, 401);
    assert.deepEqual(Object.keys(api.json().errors), ['body']);
    const page = await app.inject('/loosened');
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/login?next=%2Floosened');
  });
}

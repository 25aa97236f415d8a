import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadConfig, MAX_PAGE } from 'bastion';
import { MAX_OFFSET } from '../src/conduit/types.js';
import { BACKENDS, isolate, openDatabase, randomKey, REFUSED_QUERY_NUMBERS, TestClient } from 'bastion/testing';
import { api, newAccount, registerOverApi } from './helpers/conduit-api.js';
import { startInstance } from './helpers/server-process.js';

// SPEC §3 "query strings": numbers in a URL are finite integers within the route's bounds, and
// anything else is a 4xx. `GET /search?page=1e400` once froze the whole process (Ajv coerced the
// page to Infinity and the pager's loop never ended) and `?page=1e400` or `?offset=1e400`
// answered 500. The attacks run against a real server process, so a hang fails the test after a
// bounded wait instead of freezing the test runner with it. queryInteger and the refusal of a
// number type in a route schema by themselves: packages/bastion/test/query-integer.test.ts.

interface Route {
  readonly path: string;
  readonly param: string;
  /** The route's documented bound: served, and one further refused. */
  readonly max: number;
  readonly face: 'api' | 'html';
  readonly as?: 'admin' | 'member';
}

// Generous for a loaded machine; a request that loops forever still fails the test in bounded time.
const ANSWER_BOUND_MS = 30_000;
const START_BOUND_MS = 120_000;

for (const backend of BACKENDS) {
  test(`[${backend}] every paged route answers non-finite, malformed, repeated and out-of-range numbers with a 4xx, never a hang or a 5xx; the deepest page (${MAX_PAGE}) and offset (${MAX_OFFSET}) are served`, async (t) => {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    // Each route's attacks come from their own address (through the trusted loopback proxy), so
    // the per-IP limit of 300 a minute never answers in the route's place.
    const instance = await startInstance(t, {
      env: { ...iso.env, SECRET_KEY: randomKey(), LOG_LEVEL: 'warn', TRUST_PROXY: '127.0.0.1' },
      startTimeoutMs: START_BOUND_MS,
      ...(iso.searchPath ? { searchPath: iso.searchPath } : {}),
      ...(iso.redisPrefix ? { redisPrefix: iso.redisPrefix } : {}),
    });
    const base = instance.url;
    const member = newAccount();
    const memberToken = await registerOverApi(base, member);
    await api(base, 'POST', '/api/articles', {
      token: memberToken,
      body: { article: { title: 'Paged', description: 'd', body: 'b', tagList: ['paged'] } },
    });
    const admin = newAccount();
    await registerOverApi(base, admin);
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
    const db = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
    await db.kysely.updateTable('users').set({ role: 'admin' }).where('username', '=', admin.username).execute();
    await db.close();
    const adminCookie = await signIn(base, admin);

    const routes: Route[] = [
      // First, the request that froze the process: an empty search still pages its (no) results.
      { path: '/search', param: 'page', max: MAX_PAGE, face: 'html' },
      { path: '/', param: 'page', max: MAX_PAGE, face: 'html' },
      { path: '/?tag=paged', param: 'page', max: MAX_PAGE, face: 'html' },
      { path: '/?feed=following', param: 'page', max: MAX_PAGE, face: 'html', as: 'admin' },
      { path: '/search?q=paged', param: 'page', max: MAX_PAGE, face: 'html' },
      { path: `/profile/${member.username}`, param: 'page', max: MAX_PAGE, face: 'html' },
      { path: `/profile/${member.username}?tab=favorites`, param: 'page', max: MAX_PAGE, face: 'html' },
      { path: '/admin', param: 'page', max: MAX_PAGE, face: 'html', as: 'admin' },
      { path: '/admin/content', param: 'page', max: MAX_PAGE, face: 'html', as: 'admin' },
      { path: '/admin/content?show=comments', param: 'page', max: MAX_PAGE, face: 'html', as: 'admin' },
      { path: '/admin/audit', param: 'page', max: MAX_PAGE, face: 'html', as: 'admin' },
      { path: '/api/articles', param: 'limit', max: 100, face: 'api' },
      { path: '/api/articles', param: 'offset', max: MAX_OFFSET, face: 'api' },
      { path: '/api/articles?tag=paged', param: 'offset', max: MAX_OFFSET, face: 'api' },
      { path: '/api/articles/feed', param: 'limit', max: 100, face: 'api', as: 'member' },
      { path: '/api/articles/feed', param: 'offset', max: MAX_OFFSET, face: 'api', as: 'member' },
    ];

    for (const [i, route] of routes.entries()) {
      const headers: Record<string, string> = { 'x-forwarded-for': `198.51.100.${i + 1}` };
      if (route.as === 'admin') headers.cookie = adminCookie;
      if (route.as === 'member') headers.authorization = `Token ${memberToken}`;
      const at = (value: string): string => `${route.path}${route.path.includes('?') ? '&' : '?'}${route.param}=${value}`;

      for (const served of ['1', String(route.max)]) {
        const res = await get(base, at(served), headers);
        assert.equal(res.status, 200, `${at(served)}: the route answers a number within its bounds (${res.status})`);
      }
      const values = [
        ...REFUSED_QUERY_NUMBERS,
        `1&${route.param}=2`,
        `1&${route.param}=`,
        String(route.max + 1),
        String((route.max + 1) * 1000),
      ];
      for (const value of values) {
        const url = at(value);
        const res = await get(base, url, headers);
        assert.ok(res.status >= 400 && res.status < 500 && res.status !== 429, `${url}: ${res.status} ${res.text.slice(0, 200)}`);
        if (route.face === 'api') {
          assert.match(res.type, /^application\/json/, url);
          assert.ok(
            Array.isArray(JSON.parse(res.text).errors?.[route.param]),
            `${url}: the RealWorld error names ${route.param}: ${res.text}`,
          );
        } else {
          assert.match(res.type, /^text\/html/, url);
        }
      }
      const health = await get(base, '/healthz', {});
      assert.equal(health.status, 200, `after ${route.path} ${route.param}: /healthz`);
    }
    const refused = await get(base, `/api/articles?offset=${MAX_OFFSET + 1}`, { 'x-forwarded-for': '198.51.100.200' });
    assert.deepEqual(
      JSON.parse(refused.text).errors,
      { offset: [`must be a whole number from 0 to ${MAX_OFFSET}`] },
      'the refusal says what is allowed',
    );
    assert.equal(instance.child.exitCode, null, 'the process is still running');
  });
}

test('the pager stays bounded whatever page it is handed (its loop once ran forever on Infinity)', () => {
  // In a child process with a deadline: a loop without end here must fail the test, not freeze it.
  const script = `
    const { paginate, pageRequest, MAX_PAGE } = await import('bastion');
    const out = [];
    for (const page of [Infinity, -Infinity, NaN, 1e400, 2 ** 53, 1e9, -5, 0, 1.5, MAX_PAGE + 1]) {
      const p = paginate('/', page, 1_000_000_000);
      out.push({ page: String(page), current: p.page, links: p.links.length, offset: pageRequest(page).offset });
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(run.signal, null, `the pager did not return within 30 s (${run.signal})`);
  assert.equal(run.status, 0, run.stderr);
  for (const row of JSON.parse(run.stdout) as { page: string; current: number; links: number; offset: number }[]) {
    assert.ok(Number.isSafeInteger(row.current) && row.current >= 1 && row.current <= MAX_PAGE, `page ${row.page}: current ${row.current}`);
    assert.ok(row.links <= 9, `page ${row.page}: ${row.links} links`);
    assert.ok(Number.isSafeInteger(row.offset) && row.offset >= 0 && row.offset <= MAX_OFFSET, `page ${row.page}: offset ${row.offset}`);
  }
});

interface Got {
  readonly status: number;
  readonly type: string;
  readonly text: string;
}

/** A GET with a deadline: a server that hangs fails the test with the URL that hung it. */
async function get(base: string, path: string, headers: Record<string, string>): Promise<Got> {
  try {
    const res = await new TestClient(base, { timeoutMs: ANSWER_BOUND_MS }).get(path, headers);
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: res.body };
  } catch (err) {
    throw new Error(`GET ${path}: no answer within ${ANSWER_BOUND_MS} ms (${(err as Error).name}): the server hangs`);
  }
}

/** Signs in through the login form, as a browser would; returns the Cookie header. */
async function signIn(base: string, account: { email: string; password: string }): Promise<string> {
  const browser = new TestClient(base, { origin: base, timeoutMs: ANSWER_BOUND_MS });
  const res = await browser.post('/login', { email: account.email, password: account.password }, { from: '/login' });
  assert.equal(res.statusCode, 303, `sign-in: ${res.statusCode}`);
  return browser.cookieHeader;
}

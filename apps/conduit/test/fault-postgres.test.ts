import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BACKENDS, randomKey, TestClient, type TestResponse } from 'bastion/testing';
import { api, newAccount, registerOverApi } from './helpers/conduit-api.js';
import { startPrivatePostgres, startPrivateRedis } from './helpers/private-services.js';
import { startInstance, untilReady } from './helpers/server-process.js';

// PostgreSQL goes away under a running Bastion process and comes back. While it is away every
// request that needs it answers 503 with Retry-After at once (never a 500, never a hang), the
// liveness probe still says the process is up (so an orchestrator does not kill it for
// nothing) and /readyz names the database as failing. When it returns, the same process's pool
// reconnects by itself. The PostgreSQL here is a private server on a spare port, started for
// this file; the shared one is never touched. Only the PostgreSQL backend has a server to stop.

const UNAVAILABLE = 'The service is temporarily unavailable. Please try again shortly.';

function assertUnavailable(res: TestResponse, what: string): void {
  assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['retry-after'] ?? ''), /^[1-9]\d*$/, `${what}: Retry-After`);
  assert.ok(res.body.includes(UNAVAILABLE), `${what}: says why`);
  assert.doesNotMatch(res.body, /postgres|pg-pool|ECONNREFUSED|57P0|terminat|stack/i, `${what}: no library or error text`);
}

for (const backend of BACKENDS.filter((b) => b === 'postgres')) {
  test(`[${backend}] PostgreSQL stops and restarts under a running instance`, async (t) => {
    const pg = await startPrivatePostgres(t);
    const redis = await startPrivateRedis(t);
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-test-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const instance = await startInstance(t, {
      env: { DATA_DIR: dataDir, DATABASE_URL: pg.url, REDIS_URL: redis.url, SECRET_KEY: randomKey() },
      redisPrefix: `bastion-fault:${randomBytes(4).toString('hex')}:`,
    });
    const base = instance.url;

    const author = newAccount();
    const token = await registerOverApi(base, author);
    const created = await api(base, 'POST', '/api/articles', {
      token,
      body: { article: { title: 'Before the outage', description: 'd', body: 'b', tagList: ['pg'] } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const slug = created.json().article.slug as string;
    const browser = new TestClient(base, { origin: base });
    assert.equal((await browser.post('/login', { email: author.email, password: author.password })).statusCode, 303);

    await t.test('a restart between two requests costs no failed request once it is back', async () => {
      await pg.stop();
      await pg.start();
      // The pool's idle connections died with the old server; none of them may be handed out.
      for (let i = 0; i < 5; i++) {
        const res = await api(base, 'GET', `/api/articles/${slug}`);
        assert.equal(res.statusCode, 200, `request ${i} after the restart: ${res.body}`);
      }
    });

    await pg.stop();

    await t.test('API reads, logins and writes answer 503 with Retry-After, not 500', async () => {
      assertUnavailable(await api(base, 'GET', '/api/articles'), 'article list');
      assertUnavailable(await api(base, 'GET', `/api/articles/${slug}`, { token }), 'article with a token');
      assertUnavailable(
        await api(base, 'POST', '/api/users/login', { body: { user: { email: author.email, password: author.password } } }),
        'API login',
      );
      assertUnavailable(
        await api(base, 'POST', '/api/articles', { token, body: { article: { title: 'During the outage', description: 'd', body: 'b' } } }),
        'API write',
      );
      assertUnavailable(await api(base, 'POST', '/api/users', { body: { user: newAccount() } }), 'registration');
    });

    await t.test('HTML pages answer a 503 page, for visitors and logged-in users alike', async () => {
      const anonymous = new TestClient(base, { origin: base });
      const home = await anonymous.get('/');
      assertUnavailable(home, 'home page');
      assert.match(String(home.headers['content-type'] ?? ''), /^text\/html/);
      assertUnavailable(await anonymous.get(`/article/${slug}`), 'article page');
      assertUnavailable(await browser.get('/settings'), 'settings with a session');
      assert.ok(browser.jar.has('session'), 'an outage does not log anyone out');
    });

    await t.test('/healthz stays up; /readyz names the database as failing with 503', async () => {
      assert.equal((await api(base, 'GET', '/healthz')).statusCode, 200);
      const ready = await api(base, 'GET', '/readyz');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json(), { status: 'failing', checks: { database: 'failing', redis: 'ok' } });
    });

    await pg.start();

    await t.test('when PostgreSQL returns, the same process serves again without a restart', async () => {
      const ready = await untilReady(base);
      assert.deepEqual(ready.json(), { status: 'ok', checks: { database: 'ok', redis: 'ok' } });
      assert.equal(instance.child.exitCode, null, 'the process was never restarted');
      const list = await api(base, 'GET', '/api/articles');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list.json().articles.map((a: { title: string }) => a.title),
        ['Before the outage'],
        'nothing was written during the outage',
      );
      assert.equal((await browser.get('/settings')).statusCode, 200, 'the session from before still works');
      const login = await api(base, 'POST', '/api/users/login', { body: { user: { email: author.email, password: author.password } } });
      assert.equal(login.statusCode, 200, login.body);
      const write = await api(base, 'POST', '/api/articles', {
        token,
        body: { article: { title: 'After the outage', description: 'd', body: 'b' } },
      });
      assert.equal(write.statusCode, 201, write.body);
    });

    await t.test('outage errors were logged with their cause, under the request id', async () => {
      const lines = instance
        .logs()
        .split('\n')
        .filter((l) => l.includes('"level":50') && l.includes('"requestId"'));
      assert.ok(lines.length > 0, 'the outage is in the log');
      assert.ok(
        lines.some((l) => /ECONNREFUSED|57P01|terminat/i.test(l)),
        'the log keeps the real cause',
      );
    });

    assert.deepEqual(await instance.stop(), { code: 0, signal: null }, 'the instance still shuts down cleanly');
  });
}

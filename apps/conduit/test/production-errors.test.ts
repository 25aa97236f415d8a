import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "errors": in production no response carries a stack, a path, SQL or a library name;
// each error has a request id that the log also has. The app is the production build (NODE_ENV
// production with the settings it requires) plus one test-only route that fails the way a real
// bug would, with an error message full of what must not leak.

const PRODUCTION = { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://conduit.example.com', TRUST_PROXY: '127.0.0.1' };
const BEHIND_TLS = { 'x-forwarded-proto': 'https' };
const LEAKY_MESSAGE =
  'SQLITE_ERROR: near "select password_hash from users where id = 1": syntax error in /work/main/node_modules/kysely/dist/esm/index.js (pg 8, fastify 5)';
const MUST_NOT_APPEAR = [
  /select\b/i,
  /password_hash/,
  /\/work\b/,
  /node_modules/,
  /kysely/i,
  /sqlite/i,
  /\bpg\b/,
  /fastify/i,
  /\bat .*:\d+:\d+/,
  /Error:/,
  /\.(?:ts|js)\b/,
];

for (const backend of BACKENDS) {
  test(`[${backend}] in production a failing handler answers 500 with no stack, path, SQL or library name, and a request id the log has`, async (t) => {
    const { app, config, logs } = await startTestApp(t, backend, PRODUCTION);
    assert.equal(config.isProduction, true);
    app.get(
      '/test-failure',
      { schema: { querystring: { type: 'object', additionalProperties: false, properties: {} } }, config: { access: 'public' } },
      async () => {
        throw new Error(LEAKY_MESSAGE);
      },
    );

    const res = await app.inject({ method: 'GET', url: '/test-failure', headers: BEHIND_TLS });
    assert.equal(res.statusCode, 500);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    for (const leak of MUST_NOT_APPEAR) assert.doesNotMatch(res.body, leak, `the page does not show ${leak}`);
    for (const [name, value] of Object.entries(res.headers)) {
      for (const leak of MUST_NOT_APPEAR) assert.doesNotMatch(`${name}: ${String(value)}`, leak, `no header shows ${leak}`);
    }
    const requestId = /Request id: <code>([0-9a-f-]{36})<\/code>/.exec(res.body)?.[1];
    assert.ok(requestId, 'the page quotes a request id');

    // The log line for that request id carries what the page must not: the message and stack.
    const lines = logs()
      .split('\n')
      .filter((l) => l.includes(requestId))
      .map((l) => JSON.parse(l) as { level: number; err?: { message?: string; stack?: string } });
    const failure = lines.find((l) => l.level >= 50 && l.err);
    assert.ok(failure, 'the log has an error line with the same request id');
    assert.equal(failure.err!.message, LEAKY_MESSAGE);
    assert.match(failure.err!.stack ?? '', /production-errors\.test\.ts/);
  });

  test(`[${backend}] in production a thrown non-Error and a rejected promise are 500 pages without their text`, async (t) => {
    const { app } = await startTestApp(t, backend, PRODUCTION);
    const noQuery = { querystring: { type: 'object', additionalProperties: false, properties: {} } };
    app.get('/test-throw-string', { schema: noQuery, config: { access: 'public' } }, async () => {
      throw LEAKY_MESSAGE;
    });
    app.get('/test-reject', { schema: noQuery, config: { access: 'public' } }, () => Promise.reject(new TypeError(LEAKY_MESSAGE)));
    for (const url of ['/test-throw-string', '/test-reject']) {
      const res = await app.inject({ method: 'GET', url, headers: BEHIND_TLS });
      assert.equal(res.statusCode, 500, url);
      for (const leak of MUST_NOT_APPEAR) assert.doesNotMatch(res.body, leak, `${url} does not show ${leak}`);
      assert.match(res.body, /Request id: <code>[0-9a-f-]{36}<\/code>/);
    }
  });
}

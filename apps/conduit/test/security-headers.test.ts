import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { BACKENDS, headerSetProblems } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "headers", "caching" and "HTTPS": every kind of response carries the same header
// set (the set itself: packages/bastion/src/testing/security-header-set.ts, which the attack kit checks every
// route against), and production sends plain HTTP (as told by a trusted proxy) to PUBLIC_ORIGIN.

const ORIGIN = 'https://conduit.example.com';
const PRODUCTION = { NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1', PUBLIC_ORIGIN: ORIGIN };
const VIA_HTTPS = { 'x-forwarded-proto': 'https' };

/** One request of each kind of response the app can give. */
const KINDS: ReadonlyArray<{ name: string; request: InjectOptions; status: number }> = [
  { name: 'an HTML page (/)', request: { url: '/' }, status: 200 },
  { name: 'an API 404 (/api/nowhere)', request: { url: '/api/nowhere' }, status: 404 },
  { name: 'an HTML 404 page', request: { url: '/no/such/page' }, status: 404 },
  {
    name: 'an error response (malformed JSON)',
    request: { method: 'POST', url: '/api/users', headers: { 'content-type': 'application/json' }, payload: '{"user":' },
    status: 400,
  },
  { name: 'a static file (/static/style.css)', request: { url: '/static/style.css' }, status: 200 },
  { name: 'a health probe (/healthz)', request: { url: '/healthz' }, status: 200 },
  { name: 'a router error under /api (bad percent-encoding)', request: { url: '/api/articles/%zz' }, status: 400 },
  { name: 'a router error on a page (bad percent-encoding)', request: { url: '/article/%E0%A4%A' }, status: 400 },
];

function assertHeaderSet(res: LightMyRequestResponse, production: boolean): void {
  assert.deepEqual(headerSetProblems(res.headers, production), []);
  // The set allows a stricter policy a route chose; these kinds carry the default.
  assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin');
}

async function send(
  app: FastifyInstance,
  request: InjectOptions,
  extraHeaders: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ ...request, headers: { ...(request.headers as Record<string, string>), ...extraHeaders } });
}

for (const backend of BACKENDS) {
  for (const production of [false, true]) {
    const mode = production ? 'production' : 'development';
    for (const kind of KINDS) {
      test(`[${backend}] ${mode}: ${kind.name} carries the full security header set`, async (t) => {
        const { app } = await startTestApp(t, backend, production ? PRODUCTION : { NODE_ENV: 'development' });
        const res = await send(app, kind.request, production ? VIA_HTTPS : {});
        assert.equal(res.statusCode, kind.status, res.body.slice(0, 200));
        assertHeaderSet(res, production);
      });
    }
  }

  test(`[${backend}] every /api response, success or error, is Cache-Control: no-store`, async (t) => {
    const { app } = await startTestApp(t, backend);
    for (const url of ['/api/nowhere', '/api', '/api/users?x=1', '/api/%zz']) {
      const res = await app.inject({ url });
      assert.equal(res.headers['cache-control'], 'no-store', url);
    }
    const err = await app.inject({ method: 'POST', url: '/api/users', headers: { 'content-type': 'application/json' }, payload: '{' });
    assert.equal(err.headers['cache-control'], 'no-store');
  });

  test(`[${backend}] production: plain HTTP via the trusted proxy gets a 308 to PUBLIC_ORIGIN, same path and query`, async (t) => {
    const { app } = await startTestApp(t, backend, PRODUCTION);
    const res = await app.inject({ url: '/article/hello?page=2&tag=x', headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(res.statusCode, 308);
    assert.equal(res.headers.location, `${ORIGIN}/article/hello?page=2&tag=x`);
    const post = await app.inject({ method: 'POST', url: '/login', headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(post.statusCode, 308, 'unsafe methods too, keeping the method');
  });

  test(`[${backend}] production: HTTPS via the trusted proxy is served, not redirected`, async (t) => {
    const { app } = await startTestApp(t, backend, PRODUCTION);
    const res = await app.inject({ url: '/', headers: VIA_HTTPS });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.location, undefined);
  });

  test(`[${backend}] production without TRUST_PROXY: a forged X-Forwarded-Proto: https does not avoid the redirect`, async (t) => {
    const { app } = await startTestApp(t, backend, { ...PRODUCTION, TRUST_PROXY: '' });
    const res = await app.inject({ url: '/settings?a=1', headers: VIA_HTTPS });
    assert.equal(res.statusCode, 308);
    assert.equal(res.headers.location, `${ORIGIN}/settings?a=1`);
  });

  test(`[${backend}] production: an untrusted peer forging X-Forwarded-Proto: https is still redirected`, async (t) => {
    const { app } = await startTestApp(t, backend, { ...PRODUCTION, TRUST_PROXY: '10.0.0.1' });
    const res = await app.inject({ url: '/', headers: VIA_HTTPS });
    assert.equal(res.statusCode, 308);
  });

  test(`[${backend}] production: a redirect Location never points to another host`, async (t) => {
    const { app } = await startTestApp(t, backend, PRODUCTION);
    for (const url of [
      '//evil.com/x',
      '/\\evil.com/x',
      '/%2F%2Fevil.com',
      '/%5Cevil.com',
      '//evil.com@conduit.example.com/',
      '/.//evil.com',
    ]) {
      const res = await app.inject({ url, headers: { 'x-forwarded-proto': 'http' } });
      assert.equal(res.statusCode, 308, url);
      const location = String(res.headers.location);
      assert.ok(location.startsWith(`${ORIGIN}/`), `${url} → ${location}`);
      assert.equal(new URL(location).host, 'conduit.example.com', `${url} → ${location}`);
      assert.doesNotMatch(location.slice(ORIGIN.length), /^\/[/\\]/, `${url} → ${location} must not look protocol-relative`);
    }
  });

  test(`[${backend}] production: health probes over plain HTTP are answered, not redirected`, async (t) => {
    const { app } = await startTestApp(t, backend, PRODUCTION);
    const res = await app.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(res.statusCode, 200);
  });
}

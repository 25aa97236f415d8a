import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// SPEC §2: CORS is closed unless CORS_ORIGINS names an origin; an arbitrary Origin is never
// reflected, credentials are never allowed, and HTML pages never take part.

const FRIEND = 'https://app.friend.example';
const EVIL = 'https://evil.example';
const preflight = (url: string, origin: string) => ({
  method: 'OPTIONS' as const,
  url,
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-evil' },
});

for (const backend of BACKENDS) {
  test(`[${backend}] CORS closed by default: no origin, not even a plausible one, is allowed to read /api`, async (t) => {
    const { app } = await startTestApp(t, backend);
    for (const origin of [EVIL, 'null', 'http://127.0.0.1:3000']) {
      const res = await app.inject({ url: '/api/tags', headers: { origin } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      const pre = await app.inject(preflight('/api/users/login', origin));
      assert.equal(pre.headers['access-control-allow-origin'], undefined, origin);
      assert.ok(pre.statusCode >= 400 && pre.statusCode < 500, `preflight refused (${pre.statusCode})`);
    }
  });

  test(`[${backend}] CORS_ORIGINS allows exactly the named origin; lookalikes and others are not reflected`, async (t) => {
    const { app } = await startTestApp(t, backend, { CORS_ORIGINS: FRIEND });
    const ok = await app.inject({ url: '/api/tags', headers: { origin: FRIEND } });
    assert.equal(ok.headers['access-control-allow-origin'], FRIEND);
    assert.match(String(ok.headers.vary), /origin/i);
    assert.equal(ok.headers['access-control-allow-credentials'], undefined, 'tokens, not cookies: no credentials');

    for (const origin of [
      EVIL,
      `${FRIEND}.evil.example`,
      'https://friend.example',
      FRIEND.replace('https', 'http'),
      `${FRIEND}:8443`,
      'null',
    ]) {
      const res = await app.inject({ url: '/api/tags', headers: { origin } });
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      const pre = await app.inject(preflight('/api/articles', origin));
      assert.equal(pre.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  test(`[${backend}] a preflight from the allowed origin lists only the API's methods and headers`, async (t) => {
    const { app } = await startTestApp(t, backend, { CORS_ORIGINS: FRIEND });
    const res = await app.inject(preflight('/api/articles', FRIEND));
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], FRIEND);
    assert.equal(res.headers['access-control-allow-methods'], 'GET, POST, PUT, DELETE');
    assert.equal(res.headers['access-control-allow-headers'], 'Authorization, Content-Type', 'requested headers are not echoed');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  test(`[${backend}] HTML pages never send CORS headers, even to an allowed origin`, async (t) => {
    const { app } = await startTestApp(t, backend, { CORS_ORIGINS: FRIEND });
    for (const url of ['/', '/login', '/healthz']) {
      const res = await app.inject({ url, headers: { origin: FRIEND } });
      assert.equal(res.headers['access-control-allow-origin'], undefined, url);
    }
  });
}

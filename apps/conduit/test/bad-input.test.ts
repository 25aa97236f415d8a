import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyPluginAsync, InjectOptions, LightMyRequestResponse } from 'fastify';
import { BACKENDS, type BackendName } from 'bastion/testing';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// SPEC §3 "errors" and "body size": hostile bodies, queries and paths against real routes with
// schemas. Each gets a clear 4xx in the face of the route (RealWorld errors under /api, a
// friendly page elsewhere) and never a stack, a path, SQL or the name of a library.

const name = { type: 'string', maxLength: 64 } as const;
const echoBody = {
  type: 'object',
  additionalProperties: false,
  properties: { user: { type: 'object', additionalProperties: false, properties: { name } } },
} as const;
// The echo routes answer with whatever reached the handler (an open object, not an allowlist), so a leak would show.
const echoed = {
  200: { type: 'object', additionalProperties: false, properties: { got: { type: 'object', additionalProperties: true } } },
} as const;
const formBody = { type: 'object', additionalProperties: false, properties: { name, _csrf: { type: 'string', maxLength: 128 } } } as const;

/** The app with test-only routes, each inside the face it belongs to. */
async function appWithRoutes(t: TestContext, backend: BackendName): Promise<TestApp> {
  const api: FastifyPluginAsync = async (scope) => {
    scope.post('/echo', { config: { access: 'public' }, schema: { body: echoBody, response: echoed } }, async (request) => ({
      got: request.body,
    }));
    scope.get(
      '/echo',
      {
        config: { access: 'public' },
        schema: { querystring: { type: 'object', additionalProperties: false, properties: { q: name } }, response: echoed },
      },
      async (request) => ({ got: request.query }),
    );
    scope.get(
      '/things/:id',
      { config: { access: 'public' }, schema: { params: { type: 'object', properties: { id: name } }, response: echoed } },
      async (request) => ({ got: request.params }),
    );
    scope.get('/boom', { config: { access: 'public' }, schema: { response: echoed } }, async () => {
      throw new Error('kaboom at /work/main/src/db/users.ts: select * from users where password_hash = $1');
    });
  };
  const pages: FastifyPluginAsync = async (scope) => {
    scope.post('/echo-form', { config: { access: 'public' }, schema: { body: formBody } }, async () => 'ok');
    scope.get('/boom', { config: { access: 'public' } }, async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'kysely')");
    });
  };
  return startTestApp(t, backend, {}, {}, { extraRoutes: { api, pages } });
}

const LEAKS = [
  /:\d+:\d+\)/,
  /\/work\b/,
  /node_modules/,
  /\.ts\b/,
  /\bselect\b.+\bfrom\b/i,
  /\binsert into\b/i,
  /fastify/i,
  /\bajv\b/i,
  /kysely/i,
  /sqlite/i,
  /\bpg\b/i,
  /postgres/i,
  /FST_/,
  /SyntaxError|TypeError/,
];

function assertSafeRefusal(res: LightMyRequestResponse, status: number, face: 'api' | 'html'): void {
  assert.equal(res.statusCode, status, res.body.slice(0, 300));
  for (const leak of LEAKS) assert.doesNotMatch(res.body, leak);
  if (face === 'api') {
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as { errors: Record<string, string[]> };
    assert.ok(body.errors && typeof body.errors === 'object', 'RealWorld {"errors":{…}} shape');
    for (const messages of Object.values(body.errors)) assert.ok(Array.isArray(messages) && messages.every((m) => typeof m === 'string'));
  } else {
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<html/);
  }
}

const json = (payload: string | Buffer, url = '/api/echo'): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json' },
  payload,
});
const form = (payload: string | Buffer, url = '/echo-form'): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload,
});

const ATTACKS: ReadonlyArray<{ what: string; request: InjectOptions; status: number; face: 'api' | 'html' }> = [
  { what: 'malformed JSON', request: json('{"user": {"name": "x"'), status: 400, face: 'api' },
  { what: 'a 10 MB JSON body', request: json(`{"user":{"name":"${'a'.repeat(10 * 1024 * 1024)}"}}`), status: 413, face: 'api' },
  { what: 'a 10 MB form body on a page', request: form(`name=${'a'.repeat(10 * 1024 * 1024)}`), status: 413, face: 'html' },
  { what: 'an array where a string belongs', request: json('{"user":{"name":["admin","x"]}}'), status: 422, face: 'api' },
  { what: 'an object where a string belongs', request: json('{"user":{"name":{"$ne":null}}}'), status: 422, face: 'api' },
  { what: '10,000-deep nesting', request: json(`{"user":${'['.repeat(10_000)}${']'.repeat(10_000)}}`), status: 400, face: 'api' },
  { what: '10,000-deep nested objects', request: json(`${'{"user":'.repeat(10_000)}{}${'}'.repeat(10_000)}`), status: 400, face: 'api' },
  { what: 'an over-long field', request: json(JSON.stringify({ user: { name: 'a'.repeat(65) } })), status: 422, face: 'api' },
  { what: 'a NUL byte in a JSON string', request: json('{"user":{"name":"ad\\u0000min"}}'), status: 400, face: 'api' },
  { what: 'a NUL byte in a JSON key', request: json('{"user":{"na\\u0000me":"x"}}'), status: 400, face: 'api' },
  { what: 'a NUL byte in a query string', request: { url: '/api/echo?q=ad%00min' }, status: 400, face: 'api' },
  { what: 'a NUL byte in a path parameter', request: { url: '/api/things/ad%00min' }, status: 400, face: 'api' },
  { what: 'a NUL byte in a form field', request: form('name=ad%00min'), status: 400, face: 'html' },
  {
    what: 'invalid UTF-8 in a JSON body',
    request: json(Buffer.from([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])),
    status: 400,
    face: 'api',
  },
  {
    what: 'an overlong UTF-8 encoding of "/" in a JSON body',
    request: json(Buffer.concat([Buffer.from('{"user":{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')])),
    status: 400,
    face: 'api',
  },
  {
    what: 'invalid UTF-8 in a form body',
    request: form(Buffer.concat([Buffer.from('name='), Buffer.from([0xff, 0xfe])])),
    status: 400,
    face: 'html',
  },
  { what: 'an unknown field (mass assignment of a role)', request: json('{"user":{"name":"x","role":"admin"}}'), status: 422, face: 'api' },
  { what: 'an unknown top-level field', request: json('{"user":{"name":"x"},"id":1}'), status: 422, face: 'api' },
  { what: 'a __proto__ key', request: json('{"user":{"name":"x"},"__proto__":{"polluted":"yes"}}'), status: 400, face: 'api' },
  { what: 'a nested __proto__ key', request: json('{"user":{"__proto__":{"polluted":"yes"}}}'), status: 400, face: 'api' },
  {
    what: 'a constructor.prototype key',
    request: json('{"user":{"name":"x"},"constructor":{"prototype":{"polluted":"yes"}}}'),
    status: 400,
    face: 'api',
  },
  {
    what: 'a text/plain body',
    request: { method: 'POST', url: '/api/echo', headers: { 'content-type': 'text/plain' }, payload: '{"user":{}}' },
    status: 415,
    face: 'api',
  },
  {
    what: 'an XML body',
    request: { method: 'POST', url: '/api/echo', headers: { 'content-type': 'application/xml' }, payload: '<user/>' },
    status: 415,
    face: 'api',
  },
  {
    what: 'a multipart body on a page',
    request: { method: 'POST', url: '/echo-form', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' },
    status: 415,
    face: 'html',
  },
  { what: 'a form body where JSON is expected', request: form('user=admin', '/api/echo'), status: 422, face: 'api' },
  // Every unsafe page request without a CSRF token is refused before anything else looks at it.
  { what: 'a form POST to an unknown page', request: form('name=x', '/no/such/page'), status: 403, face: 'html' },
  { what: 'a GET of an unknown page', request: { url: '/no/such/page?x=%3Cscript%3E' }, status: 404, face: 'html' },
  { what: 'a JSON POST to an unknown API route', request: json('{}', '/api/no/such/route'), status: 404, face: 'api' },
  { what: 'bad percent-encoding in an API path', request: { url: '/api/things/%E0%A4%A' }, status: 400, face: 'api' },
  { what: 'a path parameter over the length limit', request: { url: `/api/things/${'a'.repeat(300)}` }, status: 400, face: 'api' },
  {
    what: 'bad percent-encoding in a page path, from a browser',
    request: { url: '/article/%zz', headers: { accept: 'text/html,application/xhtml+xml' } },
    status: 400,
    face: 'html',
  },
];

for (const backend of BACKENDS) {
  test(`[${backend}] the test-only routes accept good input (so refusals below are real)`, async (t) => {
    const { app } = await appWithRoutes(t, backend);
    const ok = await app.inject(json('{"user":{"name":"Ada"}}'));
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { got: { user: { name: 'Ada' } } });
    assert.equal((await app.inject({ url: '/api/echo?q=hello' })).statusCode, 200);
  });

  for (const attack of ATTACKS) {
    test(`[${backend}] ${attack.what} → ${attack.status}, safely worded`, async (t) => {
      const { app } = await appWithRoutes(t, backend);
      const res = await app.inject(attack.request);
      assertSafeRefusal(res, attack.status, attack.face);
    });
  }

  test(`[${backend}] prototype pollution attempts leave Object.prototype untouched`, async (t) => {
    const { app } = await appWithRoutes(t, backend);
    for (const payload of ['{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}']) {
      await app.inject(json(payload));
    }
    await app.inject(form('__proto__[polluted]=yes&__proto__.polluted=yes&constructor[prototype][polluted]=yes'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  test(`[${backend}] a form field called __proto__ is just an unknown field (4xx), not a prototype`, async (t) => {
    const { app } = await appWithRoutes(t, backend);
    const res = await app.inject(form('__proto__=x', '/api/echo'));
    assertSafeRefusal(res, 422, 'api');
  });

  for (const face of ['api', 'html'] as const) {
    test(`[${backend}] an unexpected error in a ${face} route → 500 with the generic message and a request id the log also has`, async (t) => {
      const { app, logs } = await appWithRoutes(t, backend);
      const res = await app.inject({ url: face === 'api' ? '/api/boom' : '/boom' });
      assertSafeRefusal(res, 500, face);
      assert.doesNotMatch(res.body, /kaboom|password_hash|reading/);
      const requestId = String(res.headers['x-request-id']);
      assert.match(requestId, /^[0-9a-f-]{36}$/);
      assert.ok(res.body.includes(requestId), 'the response quotes the request id');
      const failed = logs()
        .split('\n')
        .filter((line) => line.includes(requestId) && line.includes('"level":50'));
      assert.equal(failed.length, 1, 'the failure is logged once, under the same request id');
      assert.match(failed[0]!, face === 'api' ? /kaboom/ : /reading 'kysely'/, 'the log keeps the real cause');
    });
  }
}

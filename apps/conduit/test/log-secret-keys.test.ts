import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "logs": the redaction does not depend on what a route chooses to log. A careless
// line that dumps a request's headers and body, or an error carrying a client's config, still
// writes no secret: every key that names one (password, token, cookie, authorization, CSRF …)
// is censored at any depth and in any letter case, including inside serialized errors.

for (const backend of BACKENDS) {
  test(`[${backend}] secrets an attacker sends are censored even when a route logs the whole request`, async (t) => {
    // A route written carelessly: it logs everything it was given.
    const careless: FastifyPluginAsync = async (api) => {
      api.post(
        '/careless-log',
        {
          config: { access: 'public' },
          schema: { body: { type: 'object' }, response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } },
        },
        async (request) => {
          const err = Object.assign(new Error('upstream refused'), {
            config: { auth: { password: 'err-nested-secret-0001' } },
            apiToken: 'err-token-secret-0002',
          });
          request.log.info({ headers: request.headers, body: request.body, err }, 'careless dump');
          return { ok: true };
        },
      );
    };
    const { app, logs } = await startTestApp(t, backend, { LOG_LEVEL: 'info' }, {}, { extraRoutes: { api: careless } });
    const secrets = [
      'header-token-secret-0003',
      'cookie-secret-0004',
      'body-password-secret-0005',
      'deep-token-secret-0006',
      'csrf-secret-0007',
      'err-nested-secret-0001',
      'err-token-secret-0002',
    ];
    const response = await app.inject({
      method: 'POST',
      url: '/api/careless-log',
      headers: {
        authorization: `Token ${secrets[0]}`,
        cookie: `session=${secrets[1]}`,
        'x-csrf-token': secrets[4],
        'content-type': 'application/json',
      },
      payload: { user: { email: 'e@example.com', PassWord: secrets[2] }, list: [{ nested: { token: secrets[3] } }] },
    });
    assert.equal(response.statusCode, 200);
    const log = logs();
    assert.match(log, /careless dump/, 'the careless line was written');
    assert.match(log, /"email":"e@example.com"/, 'what is not a secret is kept');
    for (const secret of secrets) assert.ok(!log.includes(secret), `${secret} leaked into the log`);
    assert.match(log, /"PassWord":"\[REDACTED\]"/);
    assert.match(log, /"password":"\[REDACTED\]"/, 'the error serializer output is censored too');
  });
}

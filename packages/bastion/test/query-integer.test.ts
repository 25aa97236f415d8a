import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import fc from 'fast-check';
import { parseQueryInteger, queryInteger } from '../src/http/query-integer.js';
import { validatorCompiler } from '../src/http/validation.js';
import { REFUSED_QUERY_NUMBERS } from '../src/testing/fuzz/hostile-values.js';

// SPEC §3 "query strings": numbers in a URL are finite integers within the route's bounds, read
// by queryInteger only (packages/bastion/src/http/query-integer.ts); a route schema with a number
// type is refused when it registers (packages/bastion/src/http/validation.ts). Every paged route
// of an app attacked over HTTP with the same values: apps/conduit/test/query-numbers.test.ts.

test('a route whose query string or path schema has a number type is refused when it is registered', async (t) => {
  for (const [part, schema] of [
    ['querystring', { type: 'object', properties: { page: { type: 'integer', minimum: 1, maximum: 10 } } }],
    ['querystring', { type: 'object', properties: { n: { type: ['number', 'null'] } } }],
    ['querystring', { type: 'object', properties: { n: { anyOf: [{ type: 'string' }, { type: 'number' }] } } }],
    ['params', { type: 'object', properties: { id: { type: 'integer' } } }],
  ] as const) {
    const app = Fastify();
    t.after(() => app.close());
    app.setValidatorCompiler(validatorCompiler);
    app.get('/things/:id', { schema: { [part]: schema } }, async () => 'ok');
    await assert.rejects(async () => app.ready(), /number type[\s\S]*queryInteger/, `${part} ${JSON.stringify(schema)}`);
  }
  const app = Fastify();
  t.after(() => app.close());
  app.setValidatorCompiler(validatorCompiler);
  const query = { type: 'object', properties: { page: queryInteger({ minimum: 1, maximum: 10, default: 1 }) } } as const;
  app.get(
    '/things/:id',
    { schema: { querystring: query, params: { type: 'object', properties: { id: queryInteger({ minimum: 1, maximum: 99 }) } } } },
    async (request) => ({ query: request.query, params: request.params }),
  );
  const res = await app.inject('/things/7?page=3');
  assert.deepEqual(res.json(), { query: { page: 3 }, params: { id: 7 } }, 'the route gets numbers');
  assert.deepEqual((await app.inject('/things/7')).json(), { query: { page: 1 }, params: { id: 7 } }, 'the default is a number too');
  assert.equal((await app.inject('/things/1e400')).statusCode, 400);
  assert.throws(() => queryInteger({ minimum: 1, maximum: Infinity }), RangeError);
  assert.throws(() => queryInteger({ minimum: 1, maximum: 10, default: 11 }), RangeError);
});

test('queryInteger reads plain digits within its bounds and nothing else, whatever the text', () => {
  const bounds = { minimum: 1, maximum: 1000 };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.double().map(String),
        fc.bigInt().map(String),
        fc.constantFrom(...REFUSED_QUERY_NUMBERS.map(decodeURIComponent)),
      ),
      (text) => {
        const value = parseQueryInteger(text, bounds);
        if (value === null) return !/^\d+$/.test(text) || !(Number(text) >= 1 && Number(text) <= 1000);
        return Number.isSafeInteger(value) && value >= 1 && value <= 1000 && /^\d+$/.test(text);
      },
    ),
    { seed: 16, numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), (n) => parseQueryInteger(String(n), bounds) === n),
    { seed: 16 },
  );
  assert.equal(parseQueryInteger(['1', '2'], bounds), null);
  assert.equal(parseQueryInteger(5, bounds), null, 'only text, as a URL carries it');
});

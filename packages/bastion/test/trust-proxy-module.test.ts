import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// packages/bastion/src/http/trust-proxy.ts compiles TRUST_PROXY with @fastify/proxy-addr so that the rule is
// Fastify's own. That holds only while our import and Fastify's are the same copy: a Fastify
// release moving to another major would install a second one beside ours, and this fails.

const fromFastify = createRequire(import.meta.resolve('fastify'));
const fromOurs = createRequire(new URL('../src/http/trust-proxy.ts', import.meta.url));
const readJson = (path: string): { version?: string; dependencies?: Record<string, string> } => JSON.parse(readFileSync(path, 'utf8'));

test('package.json declares @fastify/proxy-addr with the range Fastify declares', () => {
  const ours = readJson(fileURLToPath(new URL('../package.json', import.meta.url))).dependencies?.['@fastify/proxy-addr'];
  const fastifys = readJson(fromFastify.resolve('fastify/package.json')).dependencies?.['@fastify/proxy-addr'];
  assert.ok(fastifys, 'Fastify no longer depends on @fastify/proxy-addr: revisit src/http/trust-proxy.ts');
  assert.equal(ours, fastifys);
});

test('the @fastify/proxy-addr trust-proxy.ts imports is the very copy Fastify loads', () => {
  const ourFile = realpathSync(fromOurs.resolve('@fastify/proxy-addr'));
  const fastifysFile = realpathSync(fromFastify.resolve('@fastify/proxy-addr'));
  assert.equal(ourFile, fastifysFile);
  assert.equal(fromOurs('@fastify/proxy-addr'), fromFastify('@fastify/proxy-addr'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readinessProbe } from '../src/routes/readiness.js';

// /readyz is exempt from the request limits (a load balancer's probe must never be refused), so
// its cost per call must be bounded instead: one check of the dependencies per second, shared
// (packages/bastion/src/routes/readiness.ts). What /readyz answers, and a flood of it through an
// app: apps/conduit/test/health.test.ts.

test('the readiness probe checks its dependencies once per interval, however many probes arrive', async () => {
  let now = 0;
  let checks = 0;
  const probe = readinessProbe({
    intervalMs: 1_000,
    now: () => now,
    check: async () => {
      checks++;
      return { database: 'ok' };
    },
  });
  await Promise.all(Array.from({ length: 50 }, () => probe()));
  assert.equal(checks, 1, 'fifty probes at once share one check');
  for (let i = 0; i < 50; i++) await probe();
  assert.equal(checks, 1, 'fifty probes within the interval reuse its result');
  now = 1_000;
  await probe();
  assert.equal(checks, 2, 'the next interval checks again');
});

test('a readiness check that throws is not kept: the next probe checks again', async () => {
  let calls = 0;
  const probe = readinessProbe({
    intervalMs: 1_000,
    now: () => 0,
    check: async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return { database: 'ok' };
    },
  });
  await assert.rejects(probe());
  assert.deepEqual(await probe(), { database: 'ok' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  test(`[${backend}] /healthz says only that the process is up`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const res = await app.inject('/healthz');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test(`[${backend}] /readyz names each dependency as ok, with no version or path`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 200);
    const expected = backend === 'postgres' ? { database: 'ok', redis: 'ok' } : { database: 'ok' };
    assert.deepEqual(res.json(), { status: 'ok', checks: expected });
  });

  test(`[${backend}] /readyz reports a closed database as failing with 503`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend, {});
    await runtime.db.kysely.destroy();
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().checks.database, 'failing');
    assert.doesNotMatch(res.body, /sqlite|postgres|error|\//i);
  });
}

// /readyz is exempt from the request limits (a load balancer's probe must never be refused), so
// its cost per call must be bounded instead: one check of the dependencies per second, shared
// (the probe by itself: packages/bastion/test/readiness.test.ts).
for (const backend of BACKENDS) {
  test(`[${backend}] a flood of /readyz sends the dependencies one check, not one per request`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    let queries = 0;
    let pings = 0;
    const kysely = runtime.db.kysely;
    const execute = kysely.getExecutor().executeQuery.bind(kysely.getExecutor());
    t.mock.method(kysely.getExecutor(), 'executeQuery', (...args: Parameters<typeof execute>) => {
      queries++;
      return execute(...args);
    });
    if (runtime.redis) {
      const redis = runtime.redis;
      const ping = redis.ping.bind(redis);
      t.mock.method(redis, 'ping', () => {
        pings++;
        return ping();
      });
    }
    const answers = await Promise.all(Array.from({ length: 100 }, () => app.inject('/readyz')));
    assert.ok(answers.every((a) => a.statusCode === 200));
    assert.ok(queries <= 2, `${queries} database queries for 100 probes`);
    if (runtime.redis) assert.ok(pings <= 2, `${pings} Redis pings for 100 probes`);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { BACKENDS, type PageBrowser, registeredBrowser } from 'bastion/testing';
import { setRole } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// A request is authorized with the role its session loaded, before its handler writes. Two
// admins demoting or locking each other at the same moment would both pass that check and
// leave no admin at all. The change is written only while its author is still an unlocked
// admin, read again with both rows locked (packages/bastion/src/pages/admin/user-directory.ts). That
// check by itself, and a change waiting for a demotion in flight: packages/bastion/test/admin-stale-authority.test.ts.

async function admin(app: FastifyInstance, runtime: Runtime): Promise<PageBrowser & { id: number }> {
  const browser = await registeredBrowser(app);
  await setRole(runtime, browser.username, 'admin');
  const { id } = await runtime.db.kysely
    .selectFrom('users')
    .select('id')
    .where('username', '=', browser.username)
    .executeTakeFirstOrThrow();
  return Object.assign(browser, { id });
}

const roleOf = async (runtime: Runtime, id: number) =>
  await runtime.db.kysely.selectFrom('users').select(['role', 'locked_at']).where('id', '=', id).executeTakeFirstOrThrow();

for (const backend of BACKENDS) {
  test(`[${backend}] two admins demoting each other at the same moment leave one admin`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await admin(app, runtime), await admin(app, runtime)];
      const [byA, byB] = await Promise.all([
        a.post(`/admin/users/${b.id}/role`, { role: 'member' }, { from: '/admin' }),
        b.post(`/admin/users/${a.id}/role`, { role: 'member' }, { from: '/admin' }),
      ]);
      const roles = [(await roleOf(runtime, a.id)).role, (await roleOf(runtime, b.id)).role];
      assert.deepEqual(
        roles.filter((r) => r === 'admin').length,
        1,
        `exactly one of them is still an admin (answers ${byA.statusCode}, ${byB.statusCode})`,
      );
    }
  });
}

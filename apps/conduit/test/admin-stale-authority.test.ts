import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { whileStillAdmin } from 'bastion/internals';
import type { Runtime } from 'bastion';
import { BACKENDS, type PageBrowser, registeredBrowser } from 'bastion/testing';
import { setRole } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// A request is authorized with the role its session loaded, before its handler writes. Two
// admins demoting or locking each other at the same moment would both pass that check and
// leave no admin at all. The change is written only while its author is still an unlocked
// admin, read again with both rows locked (packages/bastion/src/pages/admin/user-directory.ts).

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
  test(`[${backend}] an admin demoted or locked before their change is written changes nothing`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = runtime.db.kysely;
    const [a, b] = [await admin(app, runtime), await admin(app, runtime)];
    const demoteA = (trx: typeof db) => trx.updateTable('users').set({ role: 'member' }).where('id', '=', a.id).execute();

    assert.deepEqual(
      await whileStillAdmin(db, { actorId: b.id, targetId: a.id }, async () => 'written'),
      { value: 'written' },
      'an admin may',
    );
    await db.updateTable('users').set({ role: 'moderator' }).where('id', '=', b.id).execute();
    assert.equal(await whileStillAdmin(db, { actorId: b.id, targetId: a.id }, demoteA), undefined, 'a demoted admin may not');
    await db.updateTable('users').set({ role: 'admin', locked_at: new Date().toISOString() }).where('id', '=', b.id).execute();
    assert.equal(await whileStillAdmin(db, { actorId: b.id, targetId: a.id }, demoteA), undefined, 'a locked admin may not');
    assert.equal((await roleOf(runtime, a.id)).role, 'admin');
  });

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

test('[postgres] a change waits for a concurrent demotion of its author, then is refused', async (t) => {
  if (!BACKENDS.includes('postgres')) return t.skip('PostgreSQL is not among the backends under test');
  const { app, runtime } = await startTestApp(t, 'postgres');
  const db = runtime.db.kysely;
  const [a, b] = [await admin(app, runtime), await admin(app, runtime)];

  // Another transaction has demoted B and not committed yet: B's change to A must wait for it,
  // then see B as a member. A plain read would see B's committed role (admin) and go ahead.
  let commit!: () => void;
  const committed = new Promise<void>((resolve) => (commit = resolve));
  let demoted!: () => void;
  const demotedB = new Promise<void>((resolve) => (demoted = resolve));
  const other = db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ role: 'member' }).where('id', '=', b.id).execute();
    demoted();
    await committed;
  });
  t.after(() => commit());
  await demotedB;

  let changed = false;
  const change = whileStillAdmin(db, { actorId: b.id, targetId: a.id }, async (trx) => {
    changed = true;
    await trx.updateTable('users').set({ role: 'member' }).where('id', '=', a.id).execute();
  });
  const early = await Promise.race([change.then(() => 'finished'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
  assert.equal(early, 'waiting', 'the change waits for the demotion in flight');
  commit();
  await other;
  assert.equal(await change, undefined);
  assert.equal(changed, false);
  assert.equal((await roleOf(runtime, a.id)).role, 'admin', 'A is still an admin');
});

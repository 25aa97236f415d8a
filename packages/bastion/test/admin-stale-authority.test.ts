import assert from 'node:assert/strict';
import { test } from 'node:test';
import { whileStillAdmin } from '../src/pages/admin/user-directory.js';
import type { Runtime } from '../src/runtime.js';
import { createUser } from '../src/testing/accounts.js';
import { BACKENDS } from '../src/testing/backends.js';
import { stackRuntime } from './helpers/stack-runtime.js';

// A request is authorized with the role its session loaded, before its handler writes. Two
// admins demoting or locking each other at the same moment would both pass that check and
// leave no admin at all. The change is written only while its author is still an unlocked
// admin, read again with both rows locked (packages/bastion/src/pages/admin/user-directory.ts).
// Two admins racing through the admin pages of an app: apps/conduit/test/admin-stale-authority.test.ts.

const admin = (runtime: Runtime) => createUser(runtime, { role: 'admin' });

const roleOf = async (runtime: Runtime, id: number) =>
  await runtime.db.kysely.selectFrom('users').select(['role', 'locked_at']).where('id', '=', id).executeTakeFirstOrThrow();

for (const backend of BACKENDS) {
  test(`[${backend}] an admin demoted or locked before their change is written changes nothing`, async (t) => {
    const runtime = await stackRuntime(t, backend);
    const db = runtime.db.kysely;
    const [a, b] = [await admin(runtime), await admin(runtime)];
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
}

test('[postgres] a change waits for a concurrent demotion of its author, then is refused', async (t) => {
  if (!BACKENDS.includes('postgres')) return t.skip('PostgreSQL is not among the backends under test');
  const runtime = await stackRuntime(t, 'postgres');
  const db = runtime.db.kysely;
  const [a, b] = [await admin(runtime), await admin(runtime)];

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

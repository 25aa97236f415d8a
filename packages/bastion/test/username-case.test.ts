import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takenBy } from '../src/accounts/account-uniqueness.js';
import { createUser } from '../src/testing/accounts.js';
import { BACKENDS } from '../src/testing/backends.js';
import { stackRuntime } from './helpers/stack-runtime.js';

// Usernames are unique regardless of case, so "Carol" cannot pose as "carol", and emails are
// stored lower-cased under a unique index: the database decides a race (a unique index on
// lower(username), migration 007), and takenBy names the field it refused
// (packages/bastion/src/accounts/account-uniqueness.ts) so the loser gets the RealWorld 422.
// Races through an app's registration and settings, and migration 007 over an older database:
// apps/conduit/test/username-case.test.ts.

const TAKEN = { username: ['has already been taken'] };

for (const backend of BACKENDS) {
  test(`[${backend}] the database itself refuses a case twin, whatever code writes it, and the refusal names the field`, async (t) => {
    const runtime = await stackRuntime(t, backend);
    const lena = await createUser(runtime, { username: 'lena' });
    const db = runtime.db.kysely;
    const now = new Date().toISOString();
    const row = {
      email: 'other@example.com',
      password_hash: 'x',
      bio: '',
      image: null,
      role: 'member' as const,
      locked_at: null,
      created_at: now,
      updated_at: now,
    };
    const insert = await db
      .insertInto('users')
      .values({ ...row, username: 'LENA' })
      .execute()
      .catch((err: unknown) => err);
    assert.deepEqual(takenBy(insert), TAKEN, `the insert was refused: ${String(insert)}`);
    const mo = await createUser(runtime, { username: 'mo' });
    const rename = await db
      .updateTable('users')
      .set({ username: 'Lena' })
      .where('id', '=', mo.id)
      .execute()
      .catch((err: unknown) => err);
    assert.deepEqual(takenBy(rename), TAKEN, `the rename was refused: ${String(rename)}`);
    const email = await db
      .insertInto('users')
      .values({ ...row, username: 'nora', email: lena.email })
      .execute()
      .catch((err: unknown) => err);
    assert.deepEqual(takenBy(email), { email: ['has already been taken'] });
    assert.equal(takenBy(new Error('connection reset')), null, 'any other failure is not "taken"');
  });
}

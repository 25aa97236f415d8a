import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, registerUser } from 'bastion/testing';
import { unmigratedDatabase } from './helpers/migration-db.js';

// Migration 011 on a database that already has accounts: they count as confirmed (stamped with
// their creation time), so an upgrade stops nobody writing; accounts made afterwards start
// unconfirmed.

for (const backend of BACKENDS) {
  test(`[${backend}] migration 011 marks the accounts that exist as confirmed and leaves new ones unconfirmed`, async (t) => {
    const { db, migrator } = await unmigratedDatabase(t, backend);
    assert.equal((await migrator.migrateTo('010-account-tokens')).error, undefined);
    const created = '2024-03-01T10:00:00.000Z';
    // Written as the code of that release would (no email_confirmed_at column yet).
    await db.kysely
      .insertInto('users' as never)
      .values({
        username: 'veteran',
        email: 'veteran@example.com',
        password_hash: 'x',
        bio: '',
        image: null,
        role: 'member',
        locked_at: null,
        created_at: created,
        updated_at: created,
      } as never)
      .execute();
    assert.equal((await migrator.migrateTo('011-email-confirmed')).error, undefined);
    const veteran = await db.kysely
      .selectFrom('users')
      .select('email_confirmed_at')
      .where('username', '=', 'veteran')
      .executeTakeFirstOrThrow();
    assert.equal(veteran.email_confirmed_at, created);
    assert.equal((await migrator.migrateToLatest()).error, undefined);
    const newcomer = await registerUser(db.kysely, {
      username: 'newcomer',
      email: 'newcomer@example.com',
      password: 'violet-kettle-Tr0mbone-47',
    });
    const row = await db.kysely.selectFrom('users').select('email_confirmed_at').where('id', '=', newcomer.id).executeTakeFirstOrThrow();
    assert.equal(row.email_confirmed_at, null);
  });
}

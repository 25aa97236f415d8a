import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { unmigratedDatabase } from './helpers/migration-db.js';

// A session remembers when its owner last proved who they are (the re-authentication window,
// packages/bastion/src/auth/reauth.ts), in both stores. Sessions made before that existed were made by a
// password login, so an upgrade takes their creation as that proof: migration 012 on the
// database (here), a record without the field on Redis. A missing proof (NULL) is never fresh.
// Both stores keeping, renewing and reading the proof: packages/bastion/test/session-stores.test.ts.

const created = '2026-11-30T09:00:00.000Z';

for (const backend of BACKENDS) {
  test(`[${backend}] migration 012 stamps the sessions that exist with the time of their login`, async (t) => {
    const { db, migrator } = await unmigratedDatabase(t, backend);
    assert.equal((await migrator.migrateTo('011-email-confirmed')).error, undefined);
    // Written as the code of that release would (no authenticated_at column yet).
    const user = await db.kysely
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
      .returning('id' as never)
      .executeTakeFirstOrThrow();
    const later = '2026-11-30T11:00:00.000Z';
    await db.kysely
      .insertInto('sessions' as never)
      .values({
        id_hash: 'a'.repeat(64),
        user_id: (user as { id: number }).id,
        created_at: created,
        last_seen_at: later,
        idle_expires_at: later,
        absolute_expires_at: later,
        ip: '10.0.0.1',
        user_agent: 'UA',
      } as never)
      .execute();
    assert.equal((await migrator.migrateTo('012-session-authenticated-at')).error, undefined);
    const row = await db.kysely.selectFrom('sessions').select('authenticated_at').executeTakeFirstOrThrow();
    assert.equal(row.authenticated_at, created);
  });
}

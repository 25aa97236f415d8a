import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { DatabaseSessionStore, RedisSessionStore, type SessionRecord } from 'bastion/internals';
import { BACKENDS, REDIS_URL } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { startTestApp } from './helpers/test-app.js';

// A session remembers when its owner last proved who they are (the re-authentication window,
// packages/bastion/src/auth/reauth.ts), in both stores. Sessions made before that existed were made by a
// password login, so an upgrade takes their creation as that proof: migration 012 on the
// database, a record without the field on Redis. A missing proof (NULL) is never fresh.

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

  test(`[${backend}] the database store keeps a session's proof, renews it, and reads a missing one as never`, async (t) => {
    const { runtime } = await startTestApp(t, backend);
    const user = await createUser(runtime);
    const store = new DatabaseSessionStore(runtime.db.kysely, () => Date.now());
    const t0 = Date.now();
    const record: SessionRecord = {
      idHash: 'b'.repeat(64),
      userId: user.id,
      createdAt: t0,
      lastSeenAt: t0,
      idleExpiresAt: t0 + 60_000,
      absoluteExpiresAt: t0 + 120_000,
      ip: '10.0.0.2',
      userAgent: 'UA',
      authVersion: 0,
      authenticatedAt: t0,
    };
    await store.create(record);
    assert.equal((await store.get(record.idHash))?.authenticatedAt, t0);
    await store.reauthenticated(record.idHash, t0 + 5_000);
    assert.equal((await store.get(record.idHash))?.authenticatedAt, t0 + 5_000);
    await runtime.db.kysely.updateTable('sessions').set({ authenticated_at: null }).where('id_hash', '=', record.idHash).execute();
    assert.equal((await store.get(record.idHash))?.authenticatedAt, 0);
    await store.delete(record.idHash);
    await store.reauthenticated(record.idHash, t0);
    assert.equal(await store.get(record.idHash), null, 'a proof never brings a deleted session back');
  });
}

test('[redis] the Redis store keeps and renews a proof, reads a record from before it as proved at login, and never resurrects a deleted session', async (t) => {
  const redis = new Redis(REDIS_URL, { keyPrefix: `bastion-test:reauth-${process.pid}-${Date.now()}:` });
  t.after(async () => {
    // ioredis does not prefix a KEYS pattern and answers full names; DEL adds the prefix itself.
    const keys = await redis.keys(`${redis.options.keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(String(redis.options.keyPrefix).length)));
    await redis.quit();
  });
  const store = new RedisSessionStore(redis, () => Date.now(), 3_600_000);
  const t0 = Date.now();
  const record: SessionRecord = {
    idHash: 'c'.repeat(64),
    userId: 7,
    createdAt: t0 - 1_000,
    lastSeenAt: t0,
    idleExpiresAt: t0 + 60_000,
    absoluteExpiresAt: t0 + 120_000,
    ip: '10.0.0.3',
    userAgent: 'UA',
    authVersion: 0,
    authenticatedAt: t0,
  };
  await store.create(record);
  await store.reauthenticated(record.idHash, t0 + 5_000);
  assert.equal((await store.get(record.idHash))?.authenticatedAt, t0 + 5_000);
  await store.touch(record.idHash, t0 + 6_000, t0 + 66_000);
  assert.equal((await store.get(record.idHash))?.authenticatedAt, t0 + 5_000, 'sliding the expiry keeps the proof');

  const { authenticatedAt: _dropped, ...legacy } = record;
  await redis.set(`session:${'d'.repeat(64)}`, JSON.stringify({ ...legacy, idHash: 'd'.repeat(64) }), 'PX', 60_000);
  assert.equal((await store.get('d'.repeat(64)))?.authenticatedAt, record.createdAt);

  await store.delete(record.idHash);
  await store.reauthenticated(record.idHash, t0);
  assert.equal(await store.get(record.idHash), null, 'a proof never brings a deleted session back');
});

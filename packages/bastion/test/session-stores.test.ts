import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { DatabaseSessionStore } from '../src/sessions/database-session-store.js';
import { RedisSessionStore } from '../src/sessions/redis-session-store.js';
import type { SessionRecord } from '../src/sessions/session-store.js';
import { createUser } from '../src/testing/accounts.js';
import { BACKENDS, REDIS_URL } from '../src/testing/backends.js';
import { stackRuntime } from './helpers/stack-runtime.js';

// A session remembers when its owner last proved who they are (the re-authentication window,
// packages/bastion/src/auth/reauth.ts), in both stores. Sessions made before that existed were
// made by a password login, so an upgrade takes their creation as that proof: a record without
// the field on Redis (here), migration 012 on the database (apps/conduit/test/session-authenticated-at.test.ts).
// A missing proof (NULL) is never fresh.

for (const backend of BACKENDS) {
  test(`[${backend}] the database store keeps a session's proof, renews it, and reads a missing one as never`, async (t) => {
    const runtime = await stackRuntime(t, backend);
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

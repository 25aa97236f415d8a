import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Actor } from '../src/conduit/access.js';
import { deleteArticle } from '../src/conduit/articles.js';
import { addComment, deleteComment } from '../src/conduit/comments.js';
import type { Runtime } from 'bastion';
import { BACKENDS } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// A request is authorized with the role its session loaded, before its handler writes. A
// moderator demoted or locked while their deletion is in flight must not still delete: the
// deletion is decided on the role and lock read again inside its own transaction
// (actorNow in apps/conduit/src/conduit/access.ts). Each test acts with the actor a request would hold, the
// role it loaded, after the account changed underneath it.

async function setting(runtime: Runtime) {
  const author = await createUser(runtime);
  const moderator = await createUser(runtime);
  await setRole(runtime, moderator.username, 'moderator');
  const slug = await writeArticle(runtime, author.username, { title: 'Still here' });
  const comment = await addComment(conduitDb(runtime.db), slug, author.id, 'A comment that stays');
  // What the moderator's request loaded when it was authorized.
  const loaded: Actor = { id: moderator.id, role: 'moderator' };
  return { author, moderator, slug, commentId: comment.id, loaded };
}

const articleCount = (runtime: Runtime) =>
  conduitDb(runtime.db)
    .selectFrom('articles')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
const commentCount = (runtime: Runtime) =>
  conduitDb(runtime.db)
    .selectFrom('comments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();

for (const backend of BACKENDS) {
  test(`[${backend}] a moderator demoted after their request was authorized deletes no article and no comment`, async (t) => {
    const { runtime } = await startTestApp(t, backend);
    const { moderator, slug, commentId, loaded } = await setting(runtime);
    await setRole(runtime, moderator.username, 'member');
    await assert.rejects(deleteComment(conduitDb(runtime.db), slug, commentId, loaded), { code: 'FORBIDDEN' });
    await assert.rejects(deleteArticle(conduitDb(runtime.db), slug, loaded), { code: 'FORBIDDEN' });
    assert.equal(Number((await articleCount(runtime)).n), 1);
    assert.equal(Number((await commentCount(runtime)).n), 1);
  });

  test(`[${backend}] a moderator or author locked after their request was authorized deletes nothing; unlocked, the same deletion goes through`, async (t) => {
    const { runtime } = await startTestApp(t, backend);
    const { author, moderator, slug, commentId, loaded } = await setting(runtime);
    const lock = (id: number, at: string | null) =>
      runtime.db.kysely.updateTable('users').set({ locked_at: at }).where('id', '=', id).execute();
    await lock(moderator.id, new Date().toISOString());
    await lock(author.id, new Date().toISOString());
    const authorLoaded: Actor = { id: author.id, role: 'member' };
    await assert.rejects(deleteComment(conduitDb(runtime.db), slug, commentId, loaded), { code: 'FORBIDDEN' });
    await assert.rejects(deleteComment(conduitDb(runtime.db), slug, commentId, authorLoaded), { code: 'FORBIDDEN' });
    await assert.rejects(deleteArticle(conduitDb(runtime.db), slug, loaded), { code: 'FORBIDDEN' });
    await assert.rejects(deleteArticle(conduitDb(runtime.db), slug, authorLoaded), { code: 'FORBIDDEN' });
    assert.equal(Number((await articleCount(runtime)).n), 1);

    await lock(moderator.id, null);
    assert.deepEqual(await deleteComment(conduitDb(runtime.db), slug, commentId, loaded), { moderated: true });
    assert.deepEqual(await deleteArticle(conduitDb(runtime.db), slug, loaded), { moderated: true });
    assert.equal(Number((await articleCount(runtime)).n), 0);
  });
}

test('[postgres] a moderator’s deletion waits for a demotion in flight, then is refused', async (t) => {
  if (!BACKENDS.includes('postgres')) return t.skip('PostgreSQL is not among the backends under test');
  const { runtime } = await startTestApp(t, 'postgres');
  const db = conduitDb(runtime.db);
  const { moderator, slug, loaded } = await setting(runtime);

  // Another transaction (an admin's role change) has demoted the moderator and not committed: a
  // plain read would still see 'moderator' and delete.
  let commit!: () => void;
  const committed = new Promise<void>((resolve) => (commit = resolve));
  let demoted!: () => void;
  const demotedNow = new Promise<void>((resolve) => (demoted = resolve));
  const other = db.transaction().execute(async (trx) => {
    await trx.selectFrom('users').select('id').where('id', '=', moderator.id).forUpdate().execute();
    await trx.updateTable('users').set({ role: 'member' }).where('id', '=', moderator.id).execute();
    demoted();
    await committed;
  });
  await demotedNow;
  // Committed also when an assertion fails: the app's pool cannot close while it is open.
  try {
    const deletion = deleteArticle(db, slug, loaded).then(
      () => 'deleted',
      (err: { code?: string }) => err.code,
    );
    const early = await Promise.race([deletion, new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    assert.equal(early, 'waiting', 'the deletion waits for the role change in flight');
    commit();
    await other;
    assert.equal(await deletion, 'FORBIDDEN');
    assert.equal(Number((await articleCount(runtime)).n), 1, 'the article is still there');
  } finally {
    commit();
    await other;
  }
});

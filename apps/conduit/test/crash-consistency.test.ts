import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { listArticles } from '../src/conduit/articles.js';
import { loadConfig, openRuntime } from 'bastion';
import { renderMarkdown } from '../src/content/markdown.js';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { BACKENDS, isolate, randomKey, sqlitePath } from 'bastion/testing';
import { conduitDb } from '../src/conduit/tables.js';

// A writer killed with SIGKILL in the middle of its writes (no shutdown hook runs, transactions
// are cut wherever they are) must leave no half-written row behind: every article has its
// whole tag set and a body_html that is its body rendered, every favorite count matches the
// favorites, every comment and tag link points at what exists, every account is complete, and
// every write the writer saw committed is there. The writer (apps/conduit/test/helpers/crash-writer.ts)
// drives the Conduit services from four concurrent workers, so transactions are always open.

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url));
const TAGS_PER_WRITE = 20; // as crash-writer.ts writes them
const ROUNDS = 4;
const ACKS_PER_ROUND = 40;
const WRITER_BOUND_MS = 60_000;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Runs one writer until `ackTarget` writes are acknowledged, then SIGKILLs it mid-writes. */
async function writeUntilKilled(
  t: TestContext,
  env: Record<string, string>,
  searchPath: string | undefined,
  acks: string[],
  ackTarget: number,
): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
    env: { PATH: process.env.PATH ?? '', ...env, ...(searchPath ? { BASTION_TEST_SEARCH_PATH: searchPath } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    const bound = setTimeout(() => reject(new Error(`the writer did not reach ${ackTarget} writes in time:\n${err}`)), WRITER_BOUND_MS);
    void exited.then(() => reject(new Error(`the writer exited early:\n${err}`)));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ') && acks.length < ackTarget) acks.push(line.slice(4));
      if (acks.length >= ackTarget) {
        clearTimeout(bound);
        child.stdout.removeAllListeners('data');
        // Not on an acknowledgement boundary: the workers go on for a random moment first.
        setTimeout(
          () => {
            child.kill('SIGKILL');
            resolve();
          },
          randomInt(0, 25),
        );
      }
    });
  });
  return exited;
}

for (const backend of BACKENDS) {
  test(`[${backend}] a writer killed with SIGKILL mid-writes leaves no half-written article, comment or account`, async (t) => {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', SECRET_KEY: randomKey(), ...iso.env };

    // Several rounds: each writer opens the store the previous one was killed over, writes,
    // and is killed a random few milliseconds after its 40th acknowledged write of the round.
    const acks: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const exit = await writeUntilKilled(t, env, iso.searchPath, acks, acks.length + ACKS_PER_ROUND);
      assert.deepEqual(exit, { code: null, signal: 'SIGKILL' }, `round ${round}`);
    }

    const { config } = loadConfig({ env, dotenvPath: null });
    if (backend === 'sqlite') {
      // Opening the file replays the WAL as any restart would; the file must be sound after it.
      const file = new SQLite(sqlitePath(config));
      try {
        assert.deepEqual(file.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
        assert.deepEqual(file.pragma('foreign_key_check'), []);
      } finally {
        file.close();
      }
    }
    // The next process opens the same store (migrations run again, as at every start).
    const runtime = await openRuntime(config, { migrations: conduitMigrations, ...(iso.searchPath ? { searchPath: iso.searchPath } : {}) });
    t.after(() => runtime.close());
    const db = conduitDb(runtime.db);

    await t.test('every article has its whole tag set, from one write, never a mix or none', async () => {
      const rows = await db
        .selectFrom('articles')
        .leftJoin('article_tags', 'article_tags.article_id', 'articles.id')
        .leftJoin('tags', 'tags.id', 'article_tags.tag_id')
        .select(['articles.slug', 'tags.name'])
        .execute();
      const bySlug = new Map<string, string[]>();
      for (const r of rows) {
        const list = bySlug.get(r.slug) ?? [];
        if (r.name !== null) list.push(r.name);
        bySlug.set(r.slug, list);
      }
      assert.ok(bySlug.size > 0, 'the writer wrote articles');
      for (const [slug, names] of bySlug) {
        assert.equal(names.length, TAGS_PER_WRITE, `${slug} has ${names.length} tags`);
        const sets = new Set(names.map((n) => n.split('-')[0]));
        assert.equal(sets.size, 1, `${slug} mixes tag sets: ${[...sets].join(', ')}`);
      }
    });

    await t.test('every article has a body and the body_html rendered from that same body', async () => {
      const rows = await db
        .selectFrom('articles')
        .select(['slug', 'title', 'description', 'body', 'body_html', 'created_at', 'updated_at'])
        .execute();
      for (const r of rows) {
        assert.ok(r.title && r.description && r.body && r.created_at && r.updated_at, `${r.slug} is complete`);
        assert.equal(r.body_html, renderMarkdown(r.body), `${r.slug}: body_html belongs to its body`);
      }
    });

    await t.test('every favorites_count equals its favorites', async () => {
      const rows = await db
        .selectFrom('articles')
        .select((eb) => [
          'articles.slug',
          'articles.favorites_count',
          eb
            .selectFrom('favorites')
            .select((f) => f.fn.countAll<number>().as('n'))
            .whereRef('favorites.article_id', '=', 'articles.id')
            .as('n'),
        ])
        .execute();
      for (const r of rows) assert.equal(Number(r.favorites_count), Number(r.n), `${r.slug}: count ${r.favorites_count}, favorites ${r.n}`);
    });

    await t.test('no comment, tag link or favorite points at something missing', async () => {
      const orphanComments = await db
        .selectFrom('comments')
        .leftJoin('articles', 'articles.id', 'comments.article_id')
        .leftJoin('users', 'users.id', 'comments.author_id')
        .select('comments.id')
        .where((eb) => eb.or([eb('articles.id', 'is', null), eb('users.id', 'is', null), eb('comments.body', '=', '')]))
        .execute();
      assert.deepEqual(orphanComments, []);
      const orphanLinks = await db
        .selectFrom('article_tags')
        .leftJoin('articles', 'articles.id', 'article_tags.article_id')
        .leftJoin('tags', 'tags.id', 'article_tags.tag_id')
        .select('article_tags.article_id')
        .where((eb) => eb.or([eb('articles.id', 'is', null), eb('tags.id', 'is', null)]))
        .execute();
      assert.deepEqual(orphanLinks, []);
      const orphanFavorites = await db
        .selectFrom('favorites')
        .leftJoin('articles', 'articles.id', 'favorites.article_id')
        .select('favorites.user_id')
        .where('articles.id', 'is', null)
        .execute();
      assert.deepEqual(orphanFavorites, []);
    });

    await t.test('every account is complete, with an argon2id hash', async () => {
      const users = await db.selectFrom('users').select(['id', 'username', 'email', 'password_hash', 'role', 'created_at']).execute();
      assert.ok(users.length > 0);
      for (const u of users) {
        assert.ok(u.username && u.email && u.created_at, `user ${u.id} is complete`);
        assert.match(u.password_hash, /^\$argon2id\$/, `user ${u.id} has a password hash`);
        assert.equal(u.role, 'member');
      }
    });

    await t.test('every write the writer saw committed survived the kill', async () => {
      const slugs = new Set((await db.selectFrom('articles').select('slug').execute()).map((r) => r.slug));
      const commentIds = new Set((await db.selectFrom('comments').select('id').execute()).map((r) => r.id));
      const userIds = new Set((await db.selectFrom('users').select('id').execute()).map((r) => r.id));
      const edited = new Map((await db.selectFrom('articles').select(['slug', 'body']).execute()).map((r) => [r.slug, r.body]));
      for (const a of acks) {
        const [kind, id = ''] = a.split(' ');
        if (kind === 'article' || kind === 'favorite') assert.ok(slugs.has(id), `article ${id}`);
        else if (kind === 'comment') assert.ok(commentIds.has(Number(id)), `comment ${id}`);
        else if (kind === 'user') assert.ok(userIds.has(Number(id)), `user ${id}`);
        else if (kind === 'update') assert.match(edited.get(id) ?? '', /, edited/, `update of ${id}`);
      }
    });

    await t.test('the store serves again after the crash', async () => {
      const page = await listArticles(db, {}, { limit: 5 }, null);
      assert.ok(page.total > 0);
      assert.equal(page.items[0]!.tagList.length, TAGS_PER_WRITE);
    });
  });
}

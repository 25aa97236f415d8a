import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { type Db, migrateToLatest } from 'bastion';
import { allMigrationsFor, BACKENDS, type BackendName, RETIRED_MIGRATIONS, STACK_TABLE_NAMES } from 'bastion/testing';
import { CONDUIT_TABLE_NAMES, conduitDb } from '../src/conduit/tables.js';
import { preSplitMigrations } from './fixtures/pre-split-migrations.js';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { schemaShape, tableNames } from './helpers/schema-shape.js';

// Conduit's tables left Bastion's migrations for Conduit's own (issue 18; the design is in
// packages/bastion/src/db/migrate.ts). A database that the pre-split list migrated, fully or only part of the way
// (an older release), upgrades with the new lists: what it has is recorded under the successors'
// names and never made again, every row stays, and it ends with the very schema a fresh database
// gets from the new lists (tables, columns, indexes, constraints, triggers, functions).

type Loose = Record<string, Record<string, unknown>>;
const AT = '2024-01-01T00:00:00.000Z';

/** A database migrated by the list as released before the split, up to `stop` (or all of it). */
async function preSplitDatabase(t: Parameters<typeof unmigratedDatabase>[0], backend: BackendName, stop: string | null): Promise<Db> {
  const { db } = await unmigratedDatabase(t, backend, null, { forMigrations: true });
  const provider = { getMigrations: async () => preSplitMigrations(db) };
  const migrator = new Migrator({ db: db.kysely, provider, ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
  const { error } = stop ? await migrator.migrateTo(stop) : await migrator.migrateToLatest();
  assert.equal(error, undefined, String(error));
  return db;
}

/** Rows in every table the first migration made, with the columns it gave them. */
async function fill(db: Db): Promise<void> {
  const k = db.kysely as unknown as Kysely<Loose>;
  const user = (name: string) => ({
    username: name,
    email: `${name}@example.com`,
    password_hash: 'x',
    bio: '',
    image: null,
    role: 'member',
    locked_at: null,
    created_at: AT,
    updated_at: AT,
  });
  const [jake, anna] = await Promise.all(
    ['jake', 'anna'].map(async (name) => (await k.insertInto('users').values(user(name)).returning('id').executeTakeFirstOrThrow()).id),
  );
  await k
    .insertInto('sessions')
    .values({
      id_hash: 'h'.repeat(64),
      user_id: jake,
      created_at: AT,
      last_seen_at: AT,
      idle_expires_at: AT,
      absolute_expires_at: AT,
      ip: '127.0.0.1',
      user_agent: 'test',
    })
    .execute();
  await k
    .insertInto('api_tokens')
    .values({ user_id: jake, token_hash: 't'.repeat(64), label: 'cli', created_at: AT, last_used_at: null, expires_at: AT })
    .execute();
  await k
    .insertInto('audit_log')
    .values({ at: AT, event: 'test.event', actor_id: jake, actor_name: 'jake', ip: '127.0.0.1', user_agent: 'test', details: '{}' })
    .execute();
  const article = async (slug: string, author: unknown) =>
    (
      await k
        .insertInto('articles')
        .values({
          slug,
          title: `Title ${slug}`,
          description: 'About trigrams',
          body: `Body of ${slug}`,
          body_html: `<p>Body of ${slug}</p>`,
          author_id: author,
          favorites_count: 1,
          created_at: AT,
          updated_at: AT,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const [a1, a2] = [await article('first', jake), await article('second', anna)];
  const [t1, t2] = await Promise.all(
    ['alpha', 'beta'].map(async (name) => (await k.insertInto('tags').values({ name }).returning('id').executeTakeFirstOrThrow()).id),
  );
  await k
    .insertInto('article_tags')
    .values([
      { article_id: a1, tag_id: t1 },
      { article_id: a1, tag_id: t2 },
      { article_id: a2, tag_id: t2 },
    ])
    .execute();
  await k
    .insertInto('favorites')
    .values([
      { user_id: anna, article_id: a1 },
      { user_id: jake, article_id: a2 },
    ])
    .execute();
  await k.insertInto('follows').values({ follower_id: anna, followee_id: jake }).execute();
  await k.insertInto('comments').values({ article_id: a1, author_id: anna, body: 'Nice', created_at: AT, updated_at: AT }).execute();
}

/** Every row of every table that exists, as sorted JSON. */
async function rows(db: Db): Promise<Record<string, string[]>> {
  const k = db.kysely as unknown as Kysely<Loose>;
  const present = new Set(await tableNames(db));
  const out: Record<string, string[]> = {};
  for (const table of [...STACK_TABLE_NAMES, ...CONDUIT_TABLE_NAMES].filter((name) => present.has(name))) {
    out[table] = (await k.selectFrom(table).selectAll().execute()).map((row) => JSON.stringify(Object.entries(row).sort())).sort();
  }
  return out;
}

/** `after`'s rows, cut to the columns `before` had: later migrations may add columns, never change a row. */
function sameRows(before: Record<string, string[]>, after: Record<string, string[]>): void {
  for (const [table, old] of Object.entries(before)) {
    const columns = new Set(old.flatMap((row) => (JSON.parse(row) as [string, unknown][]).map(([key]) => key)));
    const cut = (after[table] ?? [])
      .map((row) => JSON.stringify((JSON.parse(row) as [string, unknown][]).filter(([key]) => columns.has(key))))
      .sort();
    assert.deepEqual(cut, old, `rows of ${table}`);
  }
}

async function recorded(db: Db): Promise<string[]> {
  const k = db.kysely as unknown as Kysely<{ kysely_migration: { name: string } }>;
  return (await (db.schema ? k.withSchema(db.schema) : k).selectFrom('kysely_migration').select('name').execute())
    .map((r) => r.name)
    .sort();
}

for (const backend of BACKENDS) {
  // null: the whole pre-split list; '003-search': an older release's database, with later
  // migrations of both Bastion and Conduit still to run after the upgrade.
  for (const stop of [null, '003-search']) {
    test(`[${backend}] a database the pre-split migrations made${stop ? ` up to ${stop}` : ''} upgrades: nothing made again, no row lost, the schema a fresh database gets`, async (t) => {
      const fresh = (await unmigratedDatabase(t, backend, conduitMigrations, { forMigrations: true })).db;
      await migrateToLatest(fresh, conduitMigrations);

      const old = await preSplitDatabase(t, backend, stop);
      await fill(old);
      const legacyNames = await recorded(old);
      const before = await rows(old);

      const ran = await migrateToLatest(old, conduitMigrations);
      const all = allMigrationsFor(old, conduitMigrations);
      const successors = Object.keys(all).filter((name) => legacyNames.includes(all[name]!.replaces ?? '') || legacyNames.includes(name));
      assert.ok(successors.includes('001-stack') && successors.includes('app:001-content'), successors.join(', '));
      assert.deepEqual(
        ran.filter((name) => successors.includes(name)),
        [],
        `ran again: ${ran.join(', ')}`,
      );
      // Every migration is recorded now, the retired names no longer.
      assert.deepEqual(await recorded(old), Object.keys(all).sort());
      assert.ok(!(await recorded(old)).some((name) => (RETIRED_MIGRATIONS as readonly string[]).includes(name)));
      assert.deepEqual(await migrateToLatest(old, conduitMigrations), [], 'a second run applies nothing');

      sameRows(before, await rows(old));
      assert.equal(await schemaShape(old), await schemaShape(fresh), 'the same schema as a fresh database');

      // What later migrations keep (counts, tag lists) is right for the rows that were there, and
      // the triggers go on keeping it.
      const k = conduitDb(old);
      assert.deepEqual(
        (await k.selectFrom('tags').select(['name', 'articles_count']).orderBy('name').execute()).map((r) => [
          r.name,
          Number(r.articles_count),
        ]),
        [
          ['alpha', 1],
          ['beta', 2],
        ],
      );
      assert.equal(Number((await k.selectFrom('article_total').select('articles').executeTakeFirstOrThrow()).articles), 2);
      const list = (await k.selectFrom('articles').select('tag_list').where('slug', '=', 'first').executeTakeFirstOrThrow())
        .tag_list as unknown;
      assert.deepEqual(typeof list === 'string' ? JSON.parse(list) : list, ['alpha', 'beta']);
      await k.deleteFrom('articles').where('slug', '=', 'second').execute();
      assert.equal(Number((await k.selectFrom('article_total').select('articles').executeTakeFirstOrThrow()).articles), 1);
      assert.equal(
        Number((await k.selectFrom('tags').select('articles_count').where('name', '=', 'beta').executeTakeFirstOrThrow()).articles_count),
        1,
      );
      if (backend === 'sqlite') {
        const hits = await sql<{ rowid: number }>`select rowid from articles_search where articles_search match ${'"trigrams"'}`.execute(k);
        assert.equal(hits.rows.length, 1, 'the full-text index still holds the row that was there');
      }
    });
  }

  test(`[${backend}] a pre-split database migrated without Conduit's migrations is refused, and left as it was`, async (t) => {
    const old = await preSplitDatabase(t, backend, null);
    const names = await recorded(old);
    const shape = await schemaShape(old);
    await assert.rejects(migrateToLatest(old), /migrated before Conduit's tables left Bastion's migrations; 001-initial, 002-performance/);
    assert.deepEqual(await recorded(old), names);
    assert.equal(await schemaShape(old), shape);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kysely, PostgresDialect, PostgresIntrospector, sql } from 'kysely';
import pg from 'pg';
import { loadConfig, migrateToLatest } from 'bastion';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { BACKENDS, PG_URL, isolate, randomKey, openDatabase } from 'bastion/testing';

// Another schema of the same database being dropped (another app, a parallel test run) must not
// fail our migration. Kysely's own introspector, which its migrator uses to find its bookkeeping
// tables, reads every table of every schema from its snapshot and then looks each one up by name
// (pg_get_serial_sequence), which sees the newest catalog: a table dropped in between is "relation
// … does not exist", and the migration fails with it. CI saw it once. Here the gap is made
// certain, not left to timing: a repeatable-read transaction keeps its snapshot from before a
// drop that commits, exactly what a query caught mid-way sees.

if (BACKENDS.includes('postgres')) {
  test('[postgres] finding the migration tables does not fail when another schema is dropped at that moment', async (t) => {
    const ours = await isolate('postgres');
    const other = await isolate('postgres');
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...ours.env }, dotenvPath: null });
    const db = openDatabase(config, { searchPath: ours.searchPath!, forMigrations: true });
    const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, max: 1 }) }) });
    t.after(async () => {
      await admin.destroy();
      await db.close();
      await ours.cleanup();
      await other.cleanup();
    });
    assert.ok((await migrateToLatest(db, conduitMigrations)).includes('001-stack'));
    const doomed = other.searchPath!;
    await admin.schema
      .withSchema(doomed)
      .createTable('comments')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('body', 'text')
      .execute();

    await db.kysely
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        await sql`select 1`.execute(trx); // the snapshot is taken here, before the drop
        await admin.schema.dropSchema(doomed).cascade().execute();
        const mine = await trx.introspection.getTables({ withInternalKyselyTables: true });
        assert.ok(
          mine.some((table) => table.name === 'kysely_migration'),
          'ours finds the migration table',
        );
        // The premise, inside a savepoint because its failure aborts the transaction:
        await sql`savepoint premise`.execute(trx);
        const kyselys = await new PostgresIntrospector(trx).getTables({ withInternalKyselyTables: true }).then(
          () => 'listed',
          (error: { code?: string }) => `failed ${error.code}`,
        );
        assert.match(kyselys, /^failed (42P01|3F000)$/, "the premise: Kysely's introspector fails on the vanished schema");
        await sql`rollback to savepoint premise`.execute(trx);
      });
    assert.deepEqual(await migrateToLatest(db, conduitMigrations), [], 'and the migrator, which uses it, has nothing left to do');

    // Past the collision, ours lists exactly what Kysely's lists for our schema, and no other.
    for (const withInternalKyselyTables of [false, true]) {
      const mine = await db.kysely.introspection.getTables({ withInternalKyselyTables });
      const theirs = (await new PostgresIntrospector(db.kysely).getTables({ withInternalKyselyTables })).filter(
        (table) => table.schema === ours.searchPath,
      );
      assert.ok(mine.some((table) => table.name === 'articles'));
      assert.equal(
        mine.some((table) => table.name === 'kysely_migration'),
        withInternalKyselyTables,
      );
      assert.deepEqual(JSON.parse(JSON.stringify(mine)), JSON.parse(JSON.stringify(theirs)));
    }
  });
}

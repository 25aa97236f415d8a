import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { NO_MIGRATIONS } from 'kysely/migration';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { migrateToLatest } from 'bastion';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { tableNames } from './helpers/schema-shape.js';
import { BACKENDS, isolate, randomKey, STACK_TABLE_NAMES } from 'bastion/testing';
import { CONDUIT_TABLE_NAMES } from '../src/conduit/tables.js';

// Migrations up from an empty database on both backends, idempotent, and reversible; Bastion's
// alone make the stack's tables only; and `npx bastion migrate` doing the same from the command
// line. The upgrade of a database migrated before the split: migrations-split.test.ts.

const run = promisify(execFile);

for (const backend of BACKENDS) {
  test(`[${backend}] migrations bring an empty database to the full schema once, then have nothing to do`, async (t) => {
    const { db, migrator } = await unmigratedDatabase(t, backend);
    assert.deepEqual(await tableNames(db), [], 'starts empty');
    const applied = await migrateToLatest(db, conduitMigrations);
    assert.ok(applied.length >= 1 && applied[0] === '001-stack', applied.join(', '));
    const firstApp = applied.findIndex((name) => name.startsWith('app:'));
    assert.ok(
      firstApp > 0 && applied.slice(firstApp).every((name) => name.startsWith('app:')),
      `Conduit's after Bastion's: ${applied.join(', ')}`,
    );
    assert.deepEqual(
      await tableNames(db),
      [...STACK_TABLE_NAMES, ...CONDUIT_TABLE_NAMES].sort(),
      "exactly the tables Bastion's schema.ts and Conduit's tables.ts declare",
    );
    assert.deepEqual(await migrateToLatest(db, conduitMigrations), [], 'a second run applies nothing');

    // Every migration has a working down: all the way to empty and back up again.
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    assert.equal(down.error, undefined);
    assert.deepEqual(await tableNames(db), []);
    assert.deepEqual(await migrateToLatest(db, conduitMigrations), applied, 'up again from empty');
  });

  test(`[${backend}] Bastion's migrations alone make the stack's tables and none of Conduit's`, async (t) => {
    const { db } = await unmigratedDatabase(t, backend, null);
    const applied = await migrateToLatest(db);
    assert.ok(applied.length >= 1 && !applied.some((name) => name.startsWith('app:')), applied.join(', '));
    assert.deepEqual(await tableNames(db), [...STACK_TABLE_NAMES].sort());
    assert.deepEqual(await migrateToLatest(db), []);
  });
}

if (BACKENDS.includes('sqlite')) {
  test('[sqlite] `bastion migrate` creates the database file under DATA_DIR with mode 0600 and reports what it applied', async (t) => {
    const iso = await isolate('sqlite');
    t.after(() => iso.cleanup());
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: iso.dataDir, SECRET_KEY: randomKey() };
    const first = await run(process.execPath, ['apps/conduit/bin/conduit.js', 'migrate'], { env });
    assert.match(first.stdout, /applied: 001-stack, .*app:001-content/);
    const second = await run(process.execPath, ['apps/conduit/bin/conduit.js', 'migrate'], { env });
    assert.match(second.stdout, /database is up to date/);
    assert.equal(statSync(`${iso.dataDir}/bastion.db`).mode & 0o777, 0o600);
  });
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { NO_MIGRATIONS } from 'kysely/migration';
import type { Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { TABLE_NAMES } from '../src/db/schema.js';
import { BACKENDS, isolate, randomKey } from './helpers/backends.js';

// Migrations up from an empty database on both backends, idempotent, and reversible; and
// `npx bastion migrate` doing the same from the command line.

const run = promisify(execFile);

async function tableNames(db: Db): Promise<string[]> {
  // On PostgreSQL the introspector reads only the connection's schema (src/db/pg-introspector.ts).
  const names = (await db.kysely.introspection.getTables()).map((t) => t.name);
  // SQLite's full-text index is a virtual table with shadow tables of its own: the dialect's
  // search machinery (src/db/migrations/003-search.ts), not tables the app reads by name.
  const virtual = db.dialect === 'sqlite' ? await sqliteVirtualTables(db) : [];
  const isIndexPart = (name: string) => virtual.some((v) => name === v || name.startsWith(`${v}_`));
  return names.filter((name) => !name.startsWith('kysely_') && !isIndexPart(name)).sort();
}

async function sqliteVirtualTables(db: Db): Promise<string[]> {
  const master = db.kysely as unknown as Kysely<{ sqlite_master: { name: string; type: string; sql: string | null } }>;
  const rows = await master.selectFrom('sqlite_master').select('name').where('type', '=', 'table').where('sql', 'like', 'CREATE VIRTUAL TABLE%').execute();
  return rows.map((r) => r.name);
}

for (const backend of BACKENDS) {
  test(`[${backend}] migrations bring an empty database to the full schema once, then have nothing to do`, async (t) => {
    const { db, migrator } = await unmigratedDatabase(t, backend);
    assert.deepEqual(await tableNames(db), [], 'starts empty');
    const applied = await migrateToLatest(db);
    assert.ok(applied.length >= 1 && applied[0] === '001-initial', applied.join(', '));
    assert.deepEqual(await tableNames(db), [...TABLE_NAMES].sort(), 'exactly the tables src/db/schema.ts declares');
    assert.deepEqual(await migrateToLatest(db), [], 'a second run applies nothing');

    // Every migration has a working down: all the way to empty and back up again.
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    assert.equal(down.error, undefined);
    assert.deepEqual(await tableNames(db), []);
    assert.deepEqual(await migrateToLatest(db), applied, 'up again from empty');
  });
}

if (BACKENDS.includes('sqlite')) {
  test('[sqlite] `bastion migrate` creates the database file under DATA_DIR with mode 0600 and reports what it applied', async (t) => {
    const iso = await isolate('sqlite');
    t.after(() => iso.cleanup());
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: iso.dataDir, SECRET_KEY: randomKey() };
    const first = await run(process.execPath, ['bin/bastion.js', 'migrate'], { env });
    assert.match(first.stdout, /applied: 001-initial/);
    const second = await run(process.execPath, ['bin/bastion.js', 'migrate'], { env });
    assert.match(second.stdout, /database is up to date/);
    assert.equal(statSync(`${iso.dataDir}/bastion.db`).mode & 0o777, 0o600);
  });
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Migrator, NO_MIGRATIONS, type MigrationProvider } from 'kysely/migration';
import { loadConfig } from '../src/config/load-config.js';
import { openDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest, migrationsFor } from '../src/db/migrate.js';
import { BACKENDS, isolate, randomKey } from './helpers/backends.js';

// Migrations up from an empty database on both backends, idempotent, and reversible; and
// `npx bastion migrate` doing the same from the command line.

const TABLES = ['users', 'sessions', 'api_tokens', 'articles', 'tags', 'article_tags', 'favorites', 'follows', 'comments', 'audit_log', 'mail_failures', 'account_tokens', 'passkeys', 'passkey_challenges'];
const run = promisify(execFile);

async function tableNames(db: Db): Promise<string[]> {
  // On PostgreSQL the introspector reads only the connection's schema (src/db/pg-introspector.ts).
  const names = (await db.kysely.introspection.getTables()).map((t) => t.name);
  return names.filter((name) => !name.startsWith('kysely_')).sort();
}

for (const backend of BACKENDS) {
  test(`[${backend}] migrations bring an empty database to the full schema once, then have nothing to do`, async (t) => {
    const iso = await isolate(backend);
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
    const db = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
    t.after(async () => {
      await db.close();
      await iso.cleanup();
    });
    assert.deepEqual(await tableNames(db), [], 'starts empty');
    const applied = await migrateToLatest(db);
    assert.ok(applied.length >= 1 && applied[0] === '001-initial', applied.join(', '));
    for (const table of TABLES) assert.ok((await tableNames(db)).includes(table), `table ${table} exists`);
    assert.deepEqual(await migrateToLatest(db), [], 'a second run applies nothing');

    // Every migration has a working down: all the way to empty and back up again.
    const provider: MigrationProvider = { getMigrations: async () => migrationsFor(db) };
    const migrator = new Migrator({ db: db.kysely, provider, ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
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

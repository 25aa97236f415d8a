import type { TestContext } from 'node:test';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import { loadConfig } from '../../src/config/load-config.js';
import { openDatabase, type Db } from '../../src/db/database.js';
import { migrationsFor } from '../../src/db/migrate.js';
import { isolate, randomKey, type BackendName } from './backends.js';

// A database of its own, not yet migrated, for tests that walk the migrations step by step
// (an upgrade from an older release); closed and removed after the test.

export async function unmigratedDatabase(t: Pick<TestContext, 'after'>, backend: BackendName): Promise<{ db: Db; migrator: Migrator }> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
  const db = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
  t.after(async () => {
    await db.close();
    await iso.cleanup();
  });
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(db) };
  return { db, migrator: new Migrator({ db: db.kysely, provider, ...(db.schema ? { migrationTableSchema: db.schema } : {}) }) };
}

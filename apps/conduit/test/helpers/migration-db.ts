import type { TestContext } from 'node:test';
import type { Migrator } from 'kysely/migration';
import { conduitMigrations } from '../../src/conduit/migrations/conduit-migrations.js';
import { type AppMigrations, type Db, loadConfig } from 'bastion';
import { isolate, migratorFor, openDatabase, randomKey, type BackendName } from 'bastion/testing';

// A database of its own, not yet migrated, for tests that walk the migrations step by step
// (an upgrade from an older release); closed and removed after the test. Its migrator holds
// Bastion's migrations and, unless told otherwise, Conduit's after them.

export async function unmigratedDatabase(
  t: Pick<TestContext, 'after'>,
  backend: BackendName,
  app: AppMigrations | null = conduitMigrations,
  /** One connection without prepared statements, as migrations get: reads made before and after a migration alters a table cannot trip on a cached plan. */
  options: { forMigrations?: boolean } = {},
): Promise<{ db: Db; migrator: Migrator }> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
  const db = openDatabase(config, { ...(iso.searchPath ? { searchPath: iso.searchPath } : {}), ...options });
  t.after(async () => {
    await db.close();
    await iso.cleanup();
  });
  return { db, migrator: await migratorFor(db, app ?? undefined) };
}

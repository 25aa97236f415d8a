import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './database.js';
import { initial } from './migrations/001-initial.js';
import { performanceIndexes } from './migrations/002-performance.js';
import { search } from './migrations/003-search.js';

// Migrations are listed here in order; a name, once released, is never changed or reused.
export function migrationsFor(db: Db): Record<string, Migration> {
  return {
    '001-initial': initial(db.dialect),
    '002-performance': performanceIndexes(db.dialect),
    '003-search': search(db.dialect),
  };
}

/** Brings the database to the newest schema; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(db) };
  // Kysely looks for its bookkeeping tables in every schema unless told which one; with other
  // schemas in the same database (parallel test runs) it would find theirs and fail.
  const migrator = new Migrator({ db: db.kysely, provider, ...(db.schema ? { migrationTableSchema: db.schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

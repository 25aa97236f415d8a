import { sql } from 'kysely';
import { DEFAULT_MIGRATION_TABLE, Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Db } from './database.js';
import { initial } from './migrations/001-initial.js';
import { performanceIndexes } from './migrations/002-performance.js';
import { search } from './migrations/003-search.js';
import { authVersion } from './migrations/004-auth-version.js';
import { articleTotal } from './migrations/005-article-total.js';
import { articleTagList } from './migrations/006-article-tag-list.js';
import { usernameCase } from './migrations/007-username-case.js';
import { renderedWith } from './migrations/008-rendered-with.js';
import { mailFailures } from './migrations/009-mail-failures.js';
import { accountTokens } from './migrations/010-account-tokens.js';
import { emailConfirmed } from './migrations/011-email-confirmed.js';
import { sessionAuthenticatedAt } from './migrations/012-session-authenticated-at.js';
import { twoFactor } from './migrations/013-two-factor.js';
import { signedUpVia } from './migrations/015-signed-up-via.js';
import { passkeys } from './migrations/014-passkeys.js';

// Migrations are listed here in order; a name, once released, is never changed or reused.
export function migrationsFor(db: Db): Record<string, Migration> {
  return {
    '001-initial': initial(db.dialect),
    '002-performance': performanceIndexes(db.dialect),
    '003-search': search(db.dialect),
    '004-auth-version': authVersion(),
    '005-article-total': articleTotal(db.dialect),
    '006-article-tag-list': articleTagList(db.dialect),
    '007-username-case': usernameCase(db.dialect),
    '008-rendered-with': renderedWith(),
    '009-mail-failures': mailFailures(db.dialect),
    '010-account-tokens': accountTokens(db.dialect),
    '011-email-confirmed': emailConfirmed,
    '012-session-authenticated-at': sessionAuthenticatedAt,
    '013-two-factor': twoFactor(db.dialect),
    '015-signed-up-via': signedUpVia,
    '014-passkeys': passkeys(db.dialect),
  };
}

/**
 * An application's own migrations (its tables), given to openRuntime beside Bastion's. They share
 * Bastion's bookkeeping table and Kysely runs pending migrations in name order, so an app names
 * its migrations to sort after Bastion's numbered ones (`app:001-notes`; ':' and letters sort after
 * digits) and never renames one it has released.
 */
export type AppMigrations = (db: Db) => Readonly<Record<string, Migration>>;

/** Bastion's migrations and the app's in one record; a name both claim is refused, not overwritten. */
export function allMigrationsFor(db: Db, app?: AppMigrations): Record<string, Migration> {
  const own = migrationsFor(db);
  const extra = app ? app(db) : {};
  const clash = Object.keys(extra).filter((name) => name in own);
  if (clash.length > 0) throw new Error(`app migration names clash with Bastion's: ${clash.join(', ')}`);
  return { ...own, ...extra };
}

/** Brings the database to the newest schema; throws with the failing migration's name. */
export async function migrateToLatest(db: Db, app?: AppMigrations): Promise<string[]> {
  // Built here, not inside the provider, so a clash is reported as itself rather than as a failed run.
  const known = allMigrationsFor(db, app);
  const others = await othersApplied(db, known);
  const migrations = { ...known, ...Object.fromEntries(others.map((name) => [name, ALREADY_APPLIED])) };
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  // Kysely looks for its bookkeeping tables in every schema unless told which one; with other
  // schemas in the same database (parallel test runs, other apps) it would find theirs and
  // fail. On PostgreSQL it is always told: the given schema, or the connection's own (which a
  // DATABASE_URL may set with `options=-c search_path=…`).
  const schema = db.dialect === 'postgres' ? (db.schema ?? (await currentSchema(db))) : undefined;
  // Unordered: a Bastion migration released after an app's migration has run sorts before it
  // by name; it must still run (pending ones always run in name order), not fail the start.
  const allowUnorderedMigrations = app !== undefined || others.length > 0;
  const migrator = new Migrator({ db: db.kysely, provider, allowUnorderedMigrations, ...(schema ? { migrationTableSchema: schema } : {}) });
  // Its check for those tables reads our schema only (OwnSchemaIntrospector, pg-introspector.ts).
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function currentSchema(db: Db): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db.kysely);
  return rows[0]?.schema ?? undefined;
}

/** Stands for a migration some other run applied: never run again (it is applied), never undone here. */
const ALREADY_APPLIED: Migration = {
  async up() {
    throw new Error('an applied migration cannot run again');
  },
};

/**
 * Applied migrations this run was not given, under an application's or a feature's prefix (a
 * colon: `app:…`, `bookmarks:…`). Kysely refuses a database with applied migrations it does not
 * know, which is right for Bastion's own (a renamed one is corruption) but wrong for the app's:
 * `bastion create-admin` or a migration run of Bastion's alone must not fail on a database whose
 * app added tables. Bastion's own names have no colon, so a missing one of those still fails.
 */
async function othersApplied(db: Db, known: Readonly<Record<string, Migration>>): Promise<string[]> {
  const tables = await db.kysely.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((table) => table.name === DEFAULT_MIGRATION_TABLE)) return [];
  const rows = await db.kysely.withTables<{ kysely_migration: { name: string } }>().selectFrom('kysely_migration').select('name').execute();
  return rows.map((row) => row.name).filter((name) => name.includes(':') && !(name in known));
}

import { sql, type Kysely } from 'kysely';
import { DEFAULT_MIGRATION_TABLE, Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Db } from './database.js';
import { stack } from './migrations/001-stack.js';
import { authVersion } from './migrations/004-auth-version.js';
import { usernameCase } from './migrations/007-username-case.js';
import { mailFailures } from './migrations/009-mail-failures.js';
import { accountTokens } from './migrations/010-account-tokens.js';
import { emailConfirmed } from './migrations/011-email-confirmed.js';
import { sessionAuthenticatedAt } from './migrations/012-session-authenticated-at.js';
import { twoFactor } from './migrations/013-two-factor.js';
import { signedUpVia } from './migrations/015-signed-up-via.js';
import { passkeys } from './migrations/014-passkeys.js';

// Bastion's migrations create the stack's tables only; an application's tables come from its own
// migrations (AppMigrations), Conduit's included. A name, once released, is never changed, reused
// or given another meaning.
//
// The split (issue 18). Bastion's list used to hold Conduit's tables too. These released names did
// (some of) Conduit's work and are retired: no list runs them again, and a fresh database never
// records them. Their work now belongs to successors, migrations that declare `replaces: '<retired
// name>'`: '001-initial' to Bastion's '001-stack' (users, sessions, api_tokens, audit_log) and
// Conduit's 'app:001-content' (its six tables); every other one to a Conduit migration alone. On
// a database migrated before the split, each retired name found in the bookkeeping is exchanged,
// in one transaction before anything runs, for its successors (with its timestamp): they are
// recorded as done and never run, since what they make is already there. A retired name that the
// given lists have no application successor for (a pre-split Conduit database opened without
// Conduit's migrations) stops the migration: recording only Bastion's half would lose the other.

/** Released before the split; each made some of Conduit's tables (001-initial Bastion's as well). */
export const RETIRED_MIGRATIONS = [
  '001-initial',
  '002-performance',
  '003-search',
  '005-article-total',
  '006-article-tag-list',
  '008-rendered-with',
] as const;
export type RetiredMigration = (typeof RETIRED_MIGRATIONS)[number];

/** A migration; one that took over the work of a retired name says which (recorded, not run, where that one was). */
export interface BastionMigration extends Migration {
  readonly replaces?: RetiredMigration;
}

export function migrationsFor(db: Db): Record<string, BastionMigration> {
  return {
    '001-stack': { ...stack(db.dialect), replaces: '001-initial' },
    '004-auth-version': authVersion(),
    '007-username-case': usernameCase(db.dialect),
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
export type AppMigrations = (db: Db) => Readonly<Record<string, BastionMigration>>;

/** Bastion's migrations and the app's in one record; a name Bastion holds or retired is refused, not overwritten. */
export function allMigrationsFor(db: Db, app?: AppMigrations): Record<string, BastionMigration> {
  return lists(db, app).all;
}

function lists(db: Db, app?: AppMigrations) {
  const own = migrationsFor(db);
  const extra = app ? app(db) : {};
  const taken = new Set<string>([...Object.keys(own), ...RETIRED_MIGRATIONS]);
  const clash = Object.keys(extra).filter((name) => taken.has(name));
  if (clash.length > 0) throw new Error(`app migration names clash with Bastion's: ${clash.join(', ')}`);
  const retired = new Set<string>(RETIRED_MIGRATIONS);
  const unknown = Object.entries(extra).filter(([, m]) => m.replaces !== undefined && !retired.has(m.replaces));
  if (unknown.length > 0)
    throw new Error(
      `app migrations replace names Bastion never retired: ${unknown.map(([name, m]) => `${name} (${m.replaces})`).join(', ')}`,
    );
  return { own, extra, all: { ...own, ...extra } };
}

/** Brings the database to the newest schema; throws with the failing migration's name. */
export async function migrateToLatest(db: Db, app?: AppMigrations): Promise<string[]> {
  const migrator = await migratorFor(db, app);
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Kysely's migrator over Bastion's migrations and the app's, after a pre-split database's retired names are exchanged for their successors. */
export async function migratorFor(db: Db, app?: AppMigrations): Promise<Migrator> {
  // Built first, so a clash is reported as itself rather than as a failed run.
  const { own, extra, all } = lists(db, app);
  // Kysely looks for its bookkeeping tables in every schema unless told which one; with other
  // schemas in the same database (parallel test runs, other apps) it would find theirs and
  // fail. On PostgreSQL it is always told: the given schema, or the connection's own (which a
  // DATABASE_URL may set with `options=-c search_path=…`).
  const schema = db.dialect === 'postgres' ? (db.schema ?? (await currentSchema(db))) : undefined;
  await exchangeRetired(db, schema, own, extra);
  // A feature's or an app's applied migrations this run was not given stay as they are (othersApplied).
  const others = await othersApplied(db, all);
  const migrations = { ...all, ...Object.fromEntries(others.map((name) => [name, ALREADY_APPLIED])) };
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  // Unordered: a Bastion migration released after an app's migration has run sorts before it by
  // name, and successors are recorded at their predecessors' time; pending ones still always run
  // in name order. Kysely's check for its tables reads our schema only (pg-introspector.ts).
  return new Migrator({ db: db.kysely, provider, allowUnorderedMigrations: true, ...(schema ? { migrationTableSchema: schema } : {}) });
}

// Kysely's own bookkeeping table (the default name, which migratorFor does not change).
type Bookkeeping = { [DEFAULT_MIGRATION_TABLE]: { name: string; timestamp: string } };

async function exchangeRetired(
  db: Db,
  schema: string | undefined,
  own: Record<string, BastionMigration>,
  extra: Readonly<Record<string, BastionMigration>>,
): Promise<void> {
  if (!(await hasBookkeeping(db, schema))) return;
  const plain: Kysely<Bookkeeping> = db.kysely.$extendTables<Bookkeeping>();
  const k = schema ? plain.withSchema(schema) : plain;
  const found = await k.selectFrom(DEFAULT_MIGRATION_TABLE).select('name').where('name', 'in', RETIRED_MIGRATIONS).execute();
  if (found.length === 0) return;
  const successors = (list: Readonly<Record<string, BastionMigration>>, retired: string) =>
    Object.keys(list).filter((name) => list[name]?.replaces === retired);
  const orphaned = found.map((r) => r.name).filter((name) => successors(extra, name).length === 0);
  if (orphaned.length > 0) {
    throw new Error(
      `this database was migrated before Conduit's tables left Bastion's migrations; ${orphaned.join(', ')} ` +
        `now belong to the application's migrations and none given replaces them: migrate it with Conduit's (conduitMigrations)`,
    );
  }
  await k.transaction().execute(async (trx) => {
    // Deleted first: an instance exchanging the same rows at the same moment waits for this one
    // and then deletes (and so records) nothing.
    const gone = await trx
      .deleteFrom(DEFAULT_MIGRATION_TABLE)
      .where('name', 'in', RETIRED_MIGRATIONS)
      .returning(['name', 'timestamp'])
      .execute();
    const rows = gone.flatMap((r) =>
      [...successors(own, r.name), ...successors(extra, r.name)].map((name) => ({ name, timestamp: r.timestamp })),
    );
    if (rows.length > 0)
      await trx
        .insertInto(DEFAULT_MIGRATION_TABLE)
        .values(rows)
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
  });
}

async function hasBookkeeping(db: Db, schema: string | undefined): Promise<boolean> {
  const inSchema = schema === undefined ? sql`current_schema()` : sql`${schema}`;
  const { rows } =
    db.dialect === 'postgres'
      ? await sql`select 1 from information_schema.tables where table_schema = ${inSchema} and table_name = ${DEFAULT_MIGRATION_TABLE}`.execute(
          db.kysely,
        )
      : await sql`select 1 from sqlite_master where type = 'table' and name = ${DEFAULT_MIGRATION_TABLE}`.execute(db.kysely);
  return rows.length > 0;
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
  const rows = await db.kysely
    .$extendTables<{ kysely_migration: { name: string } }>()
    .selectFrom('kysely_migration')
    .select('name')
    .execute();
  return rows.map((row) => row.name).filter((name) => name.includes(':') && !(name in known));
}

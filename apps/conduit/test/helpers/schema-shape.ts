import { sql, type Kysely } from 'kysely';
import type { Db } from 'bastion';

// What a migrated database looks like, read from its catalogue, for comparing two databases
// migrated different ways. Kysely's bookkeeping tables are left out (their rows differ by design).

/** The app's tables by name, without Kysely's and without SQLite's full-text shadow tables. */
export async function tableNames(db: Db): Promise<string[]> {
  // On PostgreSQL the introspector reads only the connection's schema (packages/bastion/src/db/pg-introspector.ts).
  const names = (await db.kysely.introspection.getTables()).map((t) => t.name);
  // SQLite's full-text index is a virtual table with shadow tables of its own: the dialect's
  // search machinery (apps/conduit/src/conduit/migrations/003-search.ts), not tables the app reads by name.
  const virtual = db.dialect === 'sqlite' ? await sqliteVirtualTables(db) : [];
  const isIndexPart = (name: string) => virtual.some((v) => name === v || name.startsWith(`${v}_`));
  return names.filter((name) => !name.startsWith('kysely_') && !isIndexPart(name)).sort();
}

async function sqliteVirtualTables(db: Db): Promise<string[]> {
  const master = db.kysely as unknown as Kysely<{ sqlite_master: { name: string; type: string; sql: string | null } }>;
  const rows = await master
    .selectFrom('sqlite_master')
    .select('name')
    .where('type', '=', 'table')
    .where('sql', 'like', 'CREATE VIRTUAL TABLE%')
    .execute();
  return rows.map((r) => r.name);
}

/**
 * Every table, column, index, constraint, trigger and function of the database, as text: on
 * SQLite the DDL it keeps for each object; on PostgreSQL the catalogue's own definitions, with
 * the schema's name (each test has its own) written as <schema>.
 */
export async function schemaShape(db: Db): Promise<string> {
  if (db.dialect === 'sqlite') {
    const { rows } =
      await sql`select type, name, tbl_name, sql from sqlite_master where tbl_name not like 'kysely_%' order by type, name`.execute(
        db.kysely,
      );
    return JSON.stringify(rows, null, 1);
  }
  const schema = db.schema ?? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]!.s;
  const ns = sql`(select oid from pg_namespace where nspname = ${schema})`;
  const shape = {
    columns: (
      await sql`select table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default, character_maximum_length
      from information_schema.columns where table_schema = ${schema} and table_name not like 'kysely_%' order by table_name, ordinal_position`.execute(
        db.kysely,
      )
    ).rows,
    indexes: (
      await sql`select tablename, indexname, indexdef from pg_indexes where schemaname = ${schema} and tablename not like 'kysely_%' order by indexname`.execute(
        db.kysely,
      )
    ).rows,
    constraints: (
      await sql`select c.relname as table, k.conname, k.contype, pg_get_constraintdef(k.oid) as def from pg_constraint k join pg_class c on c.oid = k.conrelid
      where k.connamespace = ${ns} and c.relname not like 'kysely_%' order by c.relname, k.conname`.execute(db.kysely)
    ).rows,
    triggers: (
      await sql`select c.relname as table, t.tgname, pg_get_triggerdef(t.oid) as def from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where c.relnamespace = ${ns} and not t.tgisinternal order by c.relname, t.tgname`.execute(db.kysely)
    ).rows,
    functions: (await sql`select proname, prosrc from pg_proc where pronamespace = ${ns} order by proname`.execute(db.kysely)).rows,
    sequences: (
      await sql`select sequence_name, data_type from information_schema.sequences where sequence_schema = ${schema} order by sequence_name`.execute(
        db.kysely,
      )
    ).rows,
  };
  return JSON.stringify(shape, null, 1).split(schema).join('<schema>');
}

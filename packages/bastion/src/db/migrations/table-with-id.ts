import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

// A new table with an integer id the database assigns, on either dialect. Migrations build on
// it, so what it creates must never change: a released migration has to mean the same forever.

export function createTableWithId(db: Kysely<unknown>, dialect: DialectName, table: string) {
  return dialect === 'postgres'
    ? db.schema.createTable(table).addColumn('id', 'serial', (c) => c.primaryKey())
    : db.schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

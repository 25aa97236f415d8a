import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';
import { createTableWithId } from './table-with-id.js';

// Account mail that could not be sent (packages/bastion/src/mail): what the admin sees to know that a user never
// got their reset or confirmation mail. A row names the mail by its template and recipient and
// says why; it never holds the body, which may carry a token. Kept bounded by the writer.

export function mailFailures(dialect: DialectName): Migration {
  return {
    async up(db) {
      await createTableWithId(db, dialect, 'mail_failures')
        .addColumn('failed_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('mail_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('template', 'varchar(64)', (c) => c.notNull())
        .addColumn('recipient', 'varchar(254)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('reason', 'varchar(32)', (c) => c.notNull())
        .addColumn('error', 'varchar(64)', (c) => c.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('mail_failures').execute();
    },
  };
}

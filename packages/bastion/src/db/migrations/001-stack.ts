import { sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';
import { createTableWithId } from './table-with-id.js';

// Bastion's own first tables: accounts, their sessions and API tokens, and the audit log. Until
// the split of issue 18 these were made by '001-initial' together with Conduit's tables; this
// migration makes exactly the same four (same statements, same order of columns), and is recorded
// without running on a database that '001-initial' already made (packages/bastion/src/db/migrate.ts, RETIRED).

export function stack(dialect: DialectName): Migration {
  return {
    async up(db) {
      await createTableWithId(db, dialect, 'users')
        .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('bio', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('image', 'varchar(2048)')
        .addColumn('role', 'varchar(16)', (c) =>
          c
            .notNull()
            .defaultTo('member')
            .check(sql`role in ('member', 'moderator', 'admin')`),
        )
        .addColumn('locked_at', 'varchar(32)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_seen_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('idle_expires_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('absolute_expires_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

      await createTableWithId(db, dialect, 'api_tokens')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('label', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_used_at', 'varchar(32)')
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('api_tokens_user_id').on('api_tokens').column('user_id').execute();

      await createTableWithId(db, dialect, 'audit_log')
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('event', 'varchar(64)', (c) => c.notNull())
        .addColumn('actor_id', 'integer')
        .addColumn('actor_name', 'varchar(254)')
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').columns(['at', 'id']).execute();
      await db.schema.createIndex('audit_log_event').on('audit_log').columns(['event', 'at']).execute();
    },
    async down(db) {
      for (const t of ['audit_log', 'api_tokens', 'sessions', 'users']) await db.schema.dropTable(t).ifExists().execute();
    },
  };
}

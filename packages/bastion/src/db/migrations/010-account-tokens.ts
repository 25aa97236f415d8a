import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';
import { createTableWithId } from './table-with-id.js';

// One-time tokens that account mail carries (packages/bastion/src/accounts/account-tokens.ts): password reset,
// email confirmation, email change. Only the SHA-256 of a token is stored; `email` is the
// address the token was sent to (what a confirmation confirms); `auth_version` is the user's at
// issue, so a password change (which bumps it) voids every token still out.

export function accountTokens(dialect: DialectName): Migration {
  return {
    async up(db) {
      await createTableWithId(db, dialect, 'account_tokens')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('auth_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('used_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('account_tokens_user').on('account_tokens').columns(['user_id', 'purpose']).execute();
      await db.schema.createIndex('account_tokens_expiry').on('account_tokens').column('expires_at').execute();
    },
    async down(db) {
      await db.schema.dropTable('account_tokens').execute();
    },
  };
}

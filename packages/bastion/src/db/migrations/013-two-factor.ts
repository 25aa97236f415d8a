import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';
import { createTableWithId } from './table-with-id.js';

// The second factor (packages/bastion/src/two-factor):
//  - totp_credentials: one authenticator app per user. `secret` is sealed (AES-256-GCM under a
//    key derived from SECRET_KEY, bound to the user's id), never the base32 secret itself;
//    `enabled_at` NULL is an enrolment not yet confirmed by a first code; `last_step` is the
//    RFC 6238 time step of the last code accepted, so a code (or an older one) is never taken twice.
//  - recovery_codes: SHA-256 of each code, `used_at` set once it is spent.
//  - login_challenges: the half-login between a password and its second factor: SHA-256 of the
//    id in the browser's cookie, whose account, whether the password was right (the answer to
//    the password is given only after the second step), where to go next, and when it expires.

export function twoFactor(dialect: DialectName): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('totp_credentials')
        .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('secret', 'varchar(256)', (c) => c.notNull())
        .addColumn('last_step', 'integer')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('enabled_at', 'varchar(32)')
        .execute();
      await createTableWithId(db, dialect, 'recovery_codes')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('used_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
      await db.schema
        .createTable('login_challenges')
        .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('auth_version', 'integer', (c) => c.notNull())
        .addColumn('password_ok', 'integer', (c) => c.notNull())
        .addColumn('next', 'varchar(2048)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_challenges_expiry').on('login_challenges').column('expires_at').execute();
    },
    async down(db) {
      await db.schema.dropTable('login_challenges').execute();
      await db.schema.dropTable('recovery_codes').execute();
      await db.schema.dropTable('totp_credentials').execute();
    },
  };
}

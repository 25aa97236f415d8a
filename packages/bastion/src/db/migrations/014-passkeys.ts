import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';
import { createTableWithId } from './table-with-id.js';

// Passkeys (WebAuthn credentials, packages/bastion/src/accounts/passkeys/) and the challenges their ceremonies
// sign. A credential's id and public key are stored base64url-encoded, as the browser sends the
// id: text compares the same on both dialects, where bytes would not. `sign_count` is the
// authenticator's counter (0..2^32-1, hence bigint), kept to notice a cloned authenticator.
// A challenge row is keyed by the SHA-256 of what it is bound to (a session, or the cookie of an
// anonymous sign-in): one live challenge per binding and purpose, deleted when used.

export function passkeys(dialect: DialectName): Migration {
  return {
    async up(db) {
      await createTableWithId(db, dialect, 'passkeys')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('credential_id', 'varchar(1400)', (c) => c.notNull().unique())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('sign_count', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'varchar(256)', (c) => c.notNull())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_used_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
      await db.schema
        .createTable('passkey_challenges')
        .addColumn('key_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('passkey_challenges_expiry').on('passkey_challenges').column('expires_at').execute();
    },
    async down(db) {
      await db.schema.dropTable('passkey_challenges').execute();
      await db.schema.dropTable('passkeys').execute();
    },
  };
}

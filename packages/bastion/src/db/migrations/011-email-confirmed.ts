import { sql } from 'kysely';
import type { Migration } from 'kysely/migration';

// users.email_confirmed_at: when the account's address was shown to reach its owner (a
// confirmation link followed), or NULL while it has not been. Accounts that exist before this
// migration count as confirmed (stamped with their creation time): they signed up when no
// confirmation was asked for, some have written for years, and turning them all into
// unconfirmed accounts would stop every existing author writing on upgrade day, with mail
// perhaps not even set up yet. New accounts start unconfirmed (packages/bastion/src/accounts/sign-up.ts).

export const emailConfirmed: Migration = {
  async up(db) {
    await db.schema.alterTable('users').addColumn('email_confirmed_at', 'varchar(32)').execute();
    await db
      .updateTable('users' as never)
      .set({ email_confirmed_at: sql`created_at` } as never)
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('users').dropColumn('email_confirmed_at').execute();
  },
};

import { sql } from 'kysely';
import type { Migration } from 'kysely/migration';

// sessions.authenticated_at: when the session's owner last proved who they are (a password at
// login or /reauthenticate, later a second factor), for the 10-minute re-authentication window
// of SPEC §3 (packages/bastion/src/auth/reauth.ts). A session that exists before this migration was made by a
// login that checked a password (sessions.start runs only after one), so its creation time is
// exactly that proof: it is copied, not guessed. NULL is read as "never" (stale).

export const sessionAuthenticatedAt: Migration = {
  async up(db) {
    await db.schema.alterTable('sessions').addColumn('authenticated_at', 'varchar(32)').execute();
    await db
      .updateTable('sessions' as never)
      .set({ authenticated_at: sql`created_at` } as never)
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('sessions').dropColumn('authenticated_at').execute();
  },
};

import type { Migration } from 'kysely/migration';

// users.auth_version counts the user's password changes. A session or API token records the
// version its password check saw, and is honoured only while the user's version is the same.
// Deleting sessions and tokens on a password change is not enough on its own: a login whose
// password check passed just before the change can create its session or token just after
// the deletion, and an attacker who still knows the old password can keep logins in flight to
// hit that window. The version makes such a late session dead on arrival.

export function authVersion(): Migration {
  return {
    async up(db) {
      for (const table of ['users', 'sessions', 'api_tokens']) {
        await db.schema
          .alterTable(table)
          .addColumn('auth_version', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
    },
    async down(db) {
      for (const table of ['api_tokens', 'sessions', 'users']) {
        await db.schema.alterTable(table).dropColumn('auth_version').execute();
      }
    },
  };
}

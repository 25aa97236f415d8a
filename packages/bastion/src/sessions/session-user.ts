import type { Kysely } from 'kysely';
import type { AuthUser } from '../auth/current-user.js';
import { prepared, type SlotFn } from '../db/prepared.js';
import type { Database } from '../db/schema.js';

// Every request with a session runs this: built and compiled once (packages/bastion/src/db/prepared.ts).
const userQuery = prepared((db, slot: SlotFn<{ id: number }>) =>
  db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'role', 'bio', 'image', 'locked_at', 'auth_version'])
    .where('id', '=', slot('id')),
);

/**
 * The user behind a session, or null when the account is gone or locked, or its password has
 * changed since the session's login (a different auth_version).
 */
export async function loadActiveUser(db: Kysely<Database>, userId: number, authVersion: number): Promise<AuthUser | null> {
  const row = await userQuery.executeTakeFirst(db, { id: userId });
  if (!row || row.locked_at !== null || row.auth_version !== authVersion) return null;
  return { id: row.id, username: row.username, email: row.email, role: row.role, bio: row.bio, image: row.image };
}

import type { Kysely } from 'kysely';
import type { AuthUser } from '../auth/current-user.js';
import type { Database } from '../db/schema.js';

/** The user behind a session or token, or null when the account is gone or locked. */
export async function loadActiveUser(db: Kysely<Database>, userId: number): Promise<AuthUser | null> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'role', 'bio', 'image', 'locked_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row || row.locked_at !== null) return null;
  return { id: row.id, username: row.username, email: row.email, role: row.role, bio: row.bio, image: row.image };
}

import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { violatedUnique } from '../db/unique-violation.js';
import type { FieldErrors } from './account-rules.js';

// Usernames are unique regardless of case, emails are stored lower-cased: both are enforced by
// the database (unique indexes on lower(username) and on email, migrations 001 and 007). The
// read below answers the ordinary case early, before a password is hashed, and names every
// taken field at once; the index decides a race, and takenBy() names the field it refused.

const TAKEN = ['has already been taken'];

/** Which of username/email another account (not `exceptId`) already has. */
export async function takenFields(
  db: Kysely<Database>,
  username: string | undefined,
  email: string | undefined,
  exceptId: number | null,
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  if (username === undefined && email === undefined) return errors;
  let q = db
    .selectFrom('users')
    .select(['id', 'username', 'email'])
    .where((eb) => {
      const ors = [];
      if (username !== undefined) ors.push(eb(sql`lower(${sql.ref('username')})`, '=', username.toLowerCase()));
      if (email !== undefined) ors.push(eb('email', '=', email));
      return eb.or(ors);
    });
  if (exceptId !== null) q = q.where('id', '!=', exceptId);
  for (const row of await q.execute()) {
    if (username !== undefined && row.username.toLowerCase() === username.toLowerCase()) errors.username = TAKEN;
    if (email !== undefined && row.email === email) errors.email = TAKEN;
  }
  return errors;
}

// The unique constraints on users, as each driver names them (see db/unique-violation.ts).
const FIELD_OF: Readonly<Record<string, 'username' | 'email'>> = {
  users_username_lower: 'username',
  users_username_key: 'username',
  'users.username': 'username',
  users_email_key: 'email',
  'users.email': 'email',
};

/** The RealWorld answer for a write the users table refused as a duplicate; null for any other error. */
export function takenBy(err: unknown): FieldErrors | null {
  const name = violatedUnique(err);
  const field = name === null ? undefined : FIELD_OF[name];
  return field ? { [field]: TAKEN } : null;
}

import { hashPassword } from '../accounts/password-hasher.js';
import { registerUser as registerApiUser, type Registration, type UserRecord } from '../accounts/users.js';
import type { AppDb, Role } from '../db/schema.js';
import type { Runtime } from '../runtime.js';

// Accounts written straight into the database: a test (or the attack kit) needs a member and
// an admin to speak as, not a walk through sign-up and its mail, which have tests of their own.

export interface TestUser {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

let counter = 0;
/** A user straight in the database (no HTTP), with a password that passes the policy. */
export async function createUser(
  runtime: Runtime,
  overrides: Partial<{
    username: string;
    email: string;
    password: string;
    hash: string;
    locked: boolean;
    unconfirmed: boolean;
    role: Role;
  }> = {},
): Promise<TestUser> {
  counter++;
  const username = overrides.username ?? `user${counter}x${process.pid}`;
  const email = overrides.email ?? `${username}@example.com`;
  const password = overrides.password ?? `correct horse battery ${counter} staple`;
  const now = new Date().toISOString();
  const row = await runtime.db.kysely
    .insertInto('users')
    .values({
      username,
      email,
      password_hash: overrides.hash ?? (await hashPassword(password)),
      bio: '',
      image: null,
      role: overrides.role ?? 'member',
      locked_at: overrides.locked ? now : null,
      created_at: now,
      updated_at: now,
      // A fixture account as one that followed its confirmation link (the flow itself: apps/conduit/test/account-confirmation.test.ts).
      email_confirmed_at: overrides.unconfirmed ? null : now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, username, email, password };
}

/**
 * An account written as POST /api/users writes it (the account rules and uniqueness checked, the
 * password hashed by the real hasher, unconfirmed, signed_up_via 'api'), but with no request:
 * no registration limit, audit, mail or token. For fixtures that need accounts in bulk or in a
 * database no app runs on (a migration test, a writer process); the flow itself is
 * app.apiAccounts.register. VALIDATION for a refused or taken username or email.
 */
export function registerUser(db: AppDb, registration: Registration): Promise<UserRecord> {
  return registerApiUser(db, registration);
}

import { accountProblems, normalizeEmail, type FieldErrors } from './account-rules.js';
import { takenBy, takenFields } from './account-uniqueness.js';
import { hashPassword } from './password-hasher.js';
import { AppError } from '../http/app-error.js';
import { NEW_ACCOUNT_AUTH_VERSION, USER_COLUMNS, type Registration, type UserRecord } from '../conduit/users.js';
import type { ConduitDb } from '../conduit/types.js';

// Registration through the HTML face, which must not tell whether an address has an account
// (SPEC §3 "account mail"). Field problems and a taken username are still answered (usernames
// are public: every profile shows one); a taken address is not: the caller answers it exactly
// as a fresh sign-up and mails the address's owner instead. The password is hashed on both
// paths, so the time does not tell them apart either.

export type SignUpOutcome =
  | { readonly kind: 'created'; readonly user: UserRecord }
  /** The address belongs to `owner`: nothing was created. */
  | { readonly kind: 'address-taken'; readonly owner: UserRecord };

const refuse = (errors: FieldErrors): never => {
  throw new AppError('VALIDATION', errors);
};

const ownerOf = async (db: ConduitDb, email: string): Promise<UserRecord | undefined> =>
  db.selectFrom('users').select(USER_COLUMNS).where('email', '=', email).executeTakeFirst();

/** Creates an unconfirmed member account, or says whose the address already is. */
export async function signUp(db: ConduitDb, input: Registration): Promise<SignUpOutcome> {
  const email = normalizeEmail(input.email);
  const problems = accountProblems({ username: input.username, email, password: input.password });
  if (Object.keys(problems).length > 0) refuse(problems);
  const nameTaken = await takenFields(db, input.username, undefined, null);
  if (Object.keys(nameTaken).length > 0) refuse(nameTaken);
  // Hashed before the address is looked at: both outcomes spend the same argon2 work.
  const passwordHash = await hashPassword(input.password);
  const owner = await ownerOf(db, email);
  if (owner) return { kind: 'address-taken', owner };
  const now = new Date().toISOString();
  try {
    const user = await db
      .insertInto('users')
      .values({ username: input.username, email, password_hash: passwordHash, bio: '', image: null, role: 'member', locked_at: null, auth_version: NEW_ACCOUNT_AUTH_VERSION, created_at: now, updated_at: now, email_confirmed_at: null })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
    return { kind: 'created', user };
  } catch (err) {
    // A race: another sign-up took the name or the address between the reads and this write.
    const taken = takenBy(err);
    if (taken?.email) {
      const raced = await ownerOf(db, email);
      if (raced) return { kind: 'address-taken', owner: raced };
    }
    if (taken) refuse(taken);
    throw err;
  }
}

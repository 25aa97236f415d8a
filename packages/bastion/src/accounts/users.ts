import { accountProblems, normalizeEmail, type FieldErrors } from './account-rules.js';
import { takenBy, takenFields } from './account-uniqueness.js';
import { hashPassword, needsRehash, verifyDummy, verifyPassword } from './password-hasher.js';
import type { ExpressionBuilder } from 'kysely';
import type { Database, Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';
import { isUniqueViolation } from '../db/db-errors.js';
import type { AppDb } from '../db/schema.js';

// Accounts as both faces need them: registration, checking a password, changing one's own
// details. Field problems come back as AppError('VALIDATION', {field: [message]}) in the
// RealWorld shape. Usernames are unique regardless of case, so "Alice" cannot pose as "alice".

export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly bio: string;
  readonly image: string | null;
  readonly role: Role;
}

export interface Registration {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

/** The fields a user may change about themselves; nothing else (role, id, lock) is reachable. */
export interface UserChanges {
  readonly username?: string;
  readonly email?: string;
  readonly password?: string;
  readonly bio?: string;
  readonly image?: string | null;
  /** Needed when the password or the email changes (SPEC §2); ignored otherwise. */
  readonly currentPassword?: string;
}

export const USER_COLUMNS = ['id', 'username', 'email', 'bio', 'image', 'role'] as const;

/** users.auth_version of a new account: its first session or token carries it. */
export const NEW_ACCOUNT_AUTH_VERSION = 0;

function refuse(errors: FieldErrors): never {
  throw new AppError('VALIDATION', errors);
}

/** Creates a member account, as the RealWorld API registers it (signed_up_via 'api'); refuses weak passwords, bad names and taken username/email. */
export async function registerUser(db: AppDb, input: Registration): Promise<UserRecord> {
  const email = normalizeEmail(input.email);
  const problems = accountProblems({ username: input.username, email, password: input.password });
  if (Object.keys(problems).length > 0) refuse(problems);
  const taken = await takenFields(db, input.username, email, null);
  if (Object.keys(taken).length > 0) refuse(taken);
  const passwordHash = await hashPassword(input.password);
  const now = new Date().toISOString();
  try {
    return await db
      .insertInto('users')
      .values({
        username: input.username,
        email,
        password_hash: passwordHash,
        bio: '',
        image: null,
        role: 'member',
        locked_at: null,
        auth_version: NEW_ACCOUNT_AUTH_VERSION,
        created_at: now,
        updated_at: now,
        signed_up_via: 'api',
      })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
  } catch (err) {
    // Two registrations racing for one name ("Carol" and "carol") or address: both passed the
    // read above, the unique index (migration 007) lets one in and the other hears why.
    const taken = takenBy(err);
    if (taken) refuse(taken);
    throw err;
  }
}

export type CredentialCheck =
  /** authVersion: hand it to the session or token this login makes (see migration 004). */
  | { readonly ok: true; readonly user: UserRecord; readonly authVersion: number }
  | { readonly ok: false; readonly reason: 'unknown' | 'password' | 'locked'; readonly userId: number | null };

/**
 * Checks an email and password. An unknown email costs one argon2 verification like a wrong
 * password, and a locked account is checked only after the password, so neither the time nor
 * the caller's answer reveals which accounts exist. Rehashes on success when parameters changed.
 */
export async function checkCredentials(db: AppDb, emailInput: string, password: string): Promise<CredentialCheck> {
  const email = normalizeEmail(emailInput);
  const row = await db
    .selectFrom('users')
    .select([...USER_COLUMNS, 'password_hash', 'locked_at', 'auth_version'])
    .where('email', '=', email)
    .executeTakeFirst();
  if (!row) {
    await verifyDummy(password);
    return { ok: false, reason: 'unknown', userId: null };
  }
  if (!(await verifyPassword(row.password_hash, password))) return { ok: false, reason: 'password', userId: row.id };
  if (row.locked_at !== null) return { ok: false, reason: 'locked', userId: row.id };
  if (needsRehash(row.password_hash)) {
    await db
      .updateTable('users')
      .set({ password_hash: await hashPassword(password) })
      .where('id', '=', row.id)
      .execute();
  }
  const { password_hash: _h, locked_at: _l, auth_version: authVersion, ...user } = row;
  return { ok: true, user, authVersion };
}

export async function findUser(db: AppDb, id: number): Promise<UserRecord | null> {
  return (await db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst()) ?? null;
}

export interface UpdateHooks {
  /**
   * A password or email change, before the current password is verified: the caller's limits
   * (the login limits, the email-change limit) throw here to refuse the attempt.
   */
  readonly beforeReauthentication?: (change: { readonly password: boolean; readonly email: boolean }) => Promise<void>;
  /** The current password given was wrong: the caller counts it as a failed login. */
  readonly reauthenticationFailed?: () => Promise<void>;
  /** The current password given was right. */
  readonly reauthenticated?: () => Promise<void>;
  /**
   * Runs after every check has passed and before a new password is written (the session
   * store's revokeAllForUser): if it fails, nothing has changed but the sessions it ended.
   */
  readonly beforePasswordChange?: () => Promise<void>;
}

export interface UpdateResult {
  readonly user: UserRecord;
  readonly passwordChanged: boolean;
  /**
   * A new address asked for (current password checked, not taken), or null. It is not written:
   * it replaces the old one only once a link mailed to it is followed (packages/bastion/src/accounts/account-mail.ts).
   */
  readonly requestedEmail: string | null;
  /** users.auth_version now: the session or token the caller hands out next carries it. */
  readonly authVersion: number;
}

const wrongCurrentPassword = (): AppError => new AppError('VALIDATION', { currentPassword: ['is invalid'] });

/**
 * Changes a user's own details. A new password or email needs the current password, so a
 * stolen token or session alone cannot take the account; the email sent back unchanged (any
 * case) is no change, since RealWorld clients send it with every save. A new email is checked
 * and handed back as requestedEmail, never written here: the address must prove it reaches
 * whoever asked for it first. A new password is written
 * in one transaction with the deletion of every API token of the user, so no crash or outage can
 * leave the new password in place beside a token issued under the old one; the caller issues a
 * fresh token or session after.
 */
export async function updateUser(db: AppDb, userId: number, changes: UserChanges, hooks: UpdateHooks = {}): Promise<UpdateResult> {
  const current = await db
    .selectFrom('users')
    .select([...USER_COLUMNS, 'password_hash', 'auth_version'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!current) throw new AppError('UNAUTHORIZED');
  const sentEmail = changes.email !== undefined ? normalizeEmail(changes.email) : undefined;
  const email = sentEmail !== undefined && sentEmail !== current.email ? sentEmail : undefined;
  // The stored name and email take part so a new password cannot just be the user's name.
  const problems = accountProblems({
    username: changes.username ?? current.username,
    email: email ?? current.email,
    ...(changes.password !== undefined ? { password: changes.password } : {}),
  });
  if (Object.keys(problems).length > 0) refuse(problems);
  const sensitive = { password: changes.password !== undefined, email: email !== undefined };
  const reauthenticate = sensitive.password || sensitive.email;
  if (reauthenticate) {
    if (!changes.currentPassword) refuse({ currentPassword: ['is required'] });
    await hooks.beforeReauthentication?.(sensitive);
    if (!(await verifyPassword(current.password_hash, changes.currentPassword))) {
      await hooks.reauthenticationFailed?.();
      throw wrongCurrentPassword();
    }
    await hooks.reauthenticated?.();
  }
  // Only now, behind the password: "has already been taken" tells whether an address has an account.
  const taken = await takenFields(db, changes.username, email, userId);
  if (Object.keys(taken).length > 0) refuse(taken);
  const passwordHash = changes.password !== undefined ? await hashPassword(changes.password) : undefined;
  if (passwordHash !== undefined) await hooks.beforePasswordChange?.();
  try {
    const updated = await db.transaction().execute(async (trx) => {
      if (passwordHash !== undefined) await deleteApiTokens(trx, userId);
      let update = trx
        .updateTable('users')
        .set({
          ...(changes.username !== undefined ? { username: changes.username } : {}),
          ...(changes.bio !== undefined ? { bio: changes.bio } : {}),
          ...(changes.image !== undefined ? { image: changes.image === '' ? null : changes.image } : {}),
          // A new version kills every session and token made under the old password, even one
          // whose login is still in flight (migration 004).
          ...(passwordHash !== undefined ? newPasswordColumns(passwordHash) : {}),
          updated_at: new Date().toISOString(),
        })
        .where('id', '=', userId);
      // No password change or "log out everywhere" came between the check above and this write:
      // otherwise the change would rest on a password that no longer holds.
      if (reauthenticate) update = update.where('auth_version', '=', current.auth_version);
      const row = await update.returning([...USER_COLUMNS, 'auth_version']).executeTakeFirst();
      if (!row) throw wrongCurrentPassword();
      return row;
    });
    const { auth_version: authVersion, ...user } = updated;
    return { user, passwordChanged: passwordHash !== undefined, requestedEmail: email ?? null, authVersion };
  } catch (err) {
    if (isUniqueViolation(err)) refuse(await takenFields(db, changes.username, email, userId));
    throw err;
  }
}

// What every password change writes, whichever way it comes (updateUser, resetPassword): the
// user's API tokens go in the same transaction as the new hash and auth_version.
const deleteApiTokens = (trx: AppDb, userId: number) => trx.deleteFrom('api_tokens').where('user_id', '=', userId).execute();
const newPasswordColumns = (passwordHash: string) => ({
  password_hash: passwordHash,
  auth_version: (eb: ExpressionBuilder<Database, 'users'>) => eb('auth_version', '+', 1),
});

/**
 * Sets a new password for a user who proved control of their address (a spent reset token)
 * instead of the current password: the password policy applies as for any change, and the
 * write is the same as updateUser's (API tokens deleted, auth_version bumped, so every session
 * and token made before is dead). Null when the account is gone or locked.
 */
export async function resetPassword(
  db: AppDb,
  userId: number,
  password: string,
  hooks: Pick<UpdateHooks, 'beforePasswordChange'> = {},
): Promise<{ readonly user: UserRecord; readonly authVersion: number } | null> {
  const current = await db
    .selectFrom('users')
    .select([...USER_COLUMNS, 'locked_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!current || current.locked_at !== null) return null;
  const problems = passwordProblems(current, password);
  if (Object.keys(problems).length > 0) refuse(problems);
  const passwordHash = await hashPassword(password);
  await hooks.beforePasswordChange?.();
  const row = await db.transaction().execute(async (trx) => {
    await deleteApiTokens(trx, userId);
    return trx
      .updateTable('users')
      .set({ ...newPasswordColumns(passwordHash), updated_at: new Date().toISOString() })
      .where('id', '=', userId)
      .where('locked_at', 'is', null)
      .returning([...USER_COLUMNS, 'auth_version'])
      .executeTakeFirst();
  });
  if (!row) return null;
  const { auth_version: authVersion, ...user } = row;
  return { user, authVersion };
}

/** The policy's verdict on a new password for this account (its name and address take part). */
export function passwordProblems(account: { readonly username: string; readonly email: string }, password: string): FieldErrors {
  return accountProblems({ username: account.username, email: account.email, password });
}

/**
 * "Log out everywhere": a new users.auth_version makes every session and token of the user
 * dead at once, and also those of logins still in flight, whose password check saw the old
 * version (migration 004); deleting them is only the clean-up that follows.
 */
export async function voidAllLogins(db: AppDb, userId: number): Promise<void> {
  await db
    .updateTable('users')
    .set({ auth_version: (eb) => eb('auth_version', '+', 1) })
    .where('id', '=', userId)
    .execute();
}

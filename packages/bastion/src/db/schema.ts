import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

// The stack's tables; an app declares its own beside its migrations and reaches them through
// Kysely's $extendTables (apps/conduit/src/conduit/tables.ts). Times are ISO-8601 UTC strings
// (Date#toISOString), which sort and compare correctly as text on both SQLite and PostgreSQL.

export type Role = 'member' | 'moderator' | 'admin';
export const ROLES: readonly Role[] = ['member', 'moderator', 'admin'];

export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** Lower-cased on write; unique. */
  email: string;
  password_hash: string;
  bio: string;
  image: string | null;
  role: Role;
  /** Set by an admin: a locked account cannot log in. */
  locked_at: string | null;
  /** Counts password changes; sessions and tokens of an older version are dead (migration 004). */
  auth_version: Generated<number>;
  created_at: string;
  updated_at: string;
  /** When the address was confirmed through a mailed link; NULL: not yet (migration 011). Unset on insert means unconfirmed. */
  email_confirmed_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** The face the account registered through; NULL: create-admin, the seed, or older (migration 015). Decides the confirmation gate. */
  signed_up_via: ColumnType<SignUpFace | null, SignUpFace | null | undefined, never>;
}

/** Where an account was registered: the HTML pages or the RealWorld API. */
export type SignUpFace = 'page' | 'api';

/** Server-side HTML sessions (database store). Only the SHA-256 of the id is kept. */
export interface SessionsTable {
  id_hash: string;
  user_id: number;
  created_at: string;
  last_seen_at: string;
  /** Idle expiry, pushed forward as the session slides. */
  idle_expires_at: string;
  /** Absolute expiry, fixed at creation. */
  absolute_expires_at: string;
  ip: string;
  user_agent: string;
  /** users.auth_version when the session's password check passed. */
  auth_version: Generated<number>;
  /** When the owner last proved who they are (login, /reauthenticate); NULL: never (migration 012). */
  authenticated_at: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Opaque bearer tokens for /api. Only the SHA-256 of the token is kept. */
export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  label: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string;
  /** users.auth_version when the token's password check passed. */
  auth_version: Generated<number>;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  event: string;
  actor_id: number | null;
  /** The username tried or acting, kept even if the user is later deleted. */
  actor_name: string | null;
  ip: string;
  user_agent: string;
  /** JSON object with event details; never a secret. */
  details: string;
}

/** Account mail given up (migration 009): never the body, which may hold a token. */
export interface MailFailuresTable {
  id: Generated<number>;
  failed_at: string;
  mail_id: string;
  /** The template's id, e.g. `password-reset`. */
  template: string;
  recipient: string;
  attempts: number;
  /** retries-exhausted, permanent, shutdown or queue-full. */
  reason: string;
  /** A code such as `ECONNECTION` or `EENVELOPE 550`, never the server's text. */
  error: string;
}

/** One-time tokens carried by account mail (migration 010, packages/bastion/src/accounts/account-tokens.ts). */
export interface AccountTokensTable {
  id: Generated<number>;
  user_id: number;
  purpose: string;
  /** SHA-256 (hex) of the token; the token itself is only ever in the mail. */
  token_hash: string;
  /** The address the token was sent to. */
  email: string;
  /** users.auth_version at issue: a password change voids the token. */
  auth_version: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** A user's authenticator app (migration 013, packages/bastion/src/two-factor/totp-credentials.ts). */
export interface TotpCredentialsTable {
  user_id: number;
  /** The base32 secret sealed with AES-256-GCM (packages/bastion/src/security/sealed-box.ts); never stored in the clear. */
  secret: string;
  /** RFC 6238 time step of the last accepted code; a code of this step or an earlier one is refused. */
  last_step: number | null;
  created_at: string;
  /** NULL while the enrolment waits for its first code. */
  enabled_at: string | null;
}

/** Single-use recovery codes (migration 013, packages/bastion/src/two-factor/recovery-codes.ts). */
export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 (hex) of the normalized code. */
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

/** A password step waiting for its second factor (migration 013, packages/bastion/src/two-factor/login-challenges.ts). */
export interface LoginChallengesTable {
  id_hash: string;
  user_id: number;
  auth_version: number;
  /** 1 when the password was right: told to nobody until the second step is passed too. */
  password_ok: number;
  next: string;
  expires_at: string;
}

/** A user's passkey (migration 014, packages/bastion/src/accounts/passkeys/). Ids and keys are base64url text. */
export interface PasskeysTable {
  id: Generated<number>;
  user_id: number;
  /** The credential's id as the browser sends it (base64url); unique over all users. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter; bigint, so PostgreSQL answers it as text. */
  sign_count: ColumnType<number | string, number, number>;
  /** JSON list of the transports the browser reported (usb, internal, hybrid …). */
  transports: string;
  /** The owner's label for it, e.g. "Laptop". */
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A WebAuthn challenge waiting for its answer (migration 014): single-use, short-lived. */
export interface PasskeyChallengesTable {
  /** SHA-256 (hex) of purpose and binding (a session's id hash, or an anonymous cookie). */
  key_hash: string;
  purpose: string;
  /** The account the ceremony is for; null for a password-less sign-in (nobody named yet). */
  user_id: number | null;
  /** base64url, as sent in the options. */
  challenge: string;
  expires_at: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  mail_failures: MailFailuresTable;
  account_tokens: AccountTokensTable;
  totp_credentials: TotpCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  login_challenges: LoginChallengesTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
}

/** The stack's tables: Bastion's migrations (packages/bastion/src/db/migrate.ts) make exactly these. */
export const STACK_TABLE_NAMES = [
  'users',
  'sessions',
  'api_tokens',
  'audit_log',
  'mail_failures',
  'account_tokens',
  'totp_credentials',
  'recovery_codes',
  'login_challenges',
  'passkeys',
  'passkey_challenges',
] as const satisfies readonly (keyof Database)[];
// Fails to compile while a table of Database is missing from the list above.
const everyTableListed: [Exclude<keyof Database, (typeof STACK_TABLE_NAMES)[number]>] extends [never] ? true : never = true;
void everyTableListed;

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;

/** The typed query builder over Bastion's tables, as the stack's services take it. */
export type AppDb = import('kysely').Kysely<Database>;

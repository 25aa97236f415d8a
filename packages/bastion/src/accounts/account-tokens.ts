import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { sha256Hex } from '../sessions/derive-keys.js';

// The one-time tokens account mail carries (SPEC §3, account mail): 256 random bits, only the
// SHA-256 stored, single-use, short-lived, and void after a password change (each row keeps
// the user's auth_version at issue, which a password change bumps, as sessions and API tokens
// do). Using a token spends every other unused one of the same purpose for that user, so a
// second reset link in an old mail is dead once the first is used.

export type AccountTokenPurpose = 'reset' | 'confirm' | 'email-change';

export const ACCOUNT_TOKEN_LIFETIME_MS: Readonly<Record<AccountTokenPurpose, number>> = Object.freeze({
  reset: 30 * 60_000,
  confirm: 24 * 60 * 60_000,
  'email-change': 24 * 60 * 60_000,
});

/** What a token in a URL must look like before it is hashed and looked up (route schemas use it). */
export const ACCOUNT_TOKEN_PATTERN = String.raw`^[\w-]{43}$`;
const TOKEN_SHAPE = new RegExp(ACCOUNT_TOKEN_PATTERN);

/** Spent and expired rows are deleted this long after they expire (kept a while for support questions). */
const KEEP_AFTER_EXPIRY_MS = 7 * 24 * 60 * 60_000;

export interface AccountTokenGrant {
  readonly userId: number;
  /** The address the token was sent to. */
  readonly email: string;
}

export interface AccountTokens {
  /** A new token for the user, to put in a mail to `email`; only its hash is stored. */
  issue(userId: number, purpose: AccountTokenPurpose, email: string): Promise<string>;
  /** Who a live token belongs to, without spending it (a page that asks for a new password shows this). */
  peek(purpose: AccountTokenPurpose, token: string): Promise<AccountTokenGrant | null>;
  /** Spends a live token, once: concurrent uses get one grant between them. Voids the user's other tokens of the purpose. */
  consume(purpose: AccountTokenPurpose, token: string): Promise<AccountTokenGrant | null>;
  /** The user's newest live token of the purpose (its address and expiry), or null: what /settings shows as pending. */
  pending(userId: number, purpose: AccountTokenPurpose): Promise<{ readonly email: string; readonly expiresAt: string } | null>;
  /** Voids every unused token of the user (of one purpose, or all); says how many were live or not yet swept. */
  voidAll(userId: number, purpose?: AccountTokenPurpose): Promise<number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    accountTokens: AccountTokens;
  }
}

export interface AccountTokenOptions {
  readonly now?: () => number;
}

export function registerAccountTokens(app: FastifyInstance, runtime: Runtime, options: AccountTokenOptions = {}): void {
  const db = runtime.db.kysely;
  const now = options.now ?? (() => Date.now());
  const iso = (ms: number): string => new Date(ms).toISOString();

  const live = (purpose: AccountTokenPurpose, hash: string, at: string) =>
    db
      .selectFrom('account_tokens')
      .innerJoin('users', 'users.id', 'account_tokens.user_id')
      .select(['account_tokens.id', 'account_tokens.user_id', 'account_tokens.email'])
      .where('account_tokens.token_hash', '=', hash)
      .where('account_tokens.purpose', '=', purpose)
      .where('account_tokens.used_at', 'is', null)
      .where('account_tokens.expires_at', '>', at)
      .whereRef('account_tokens.auth_version', '=', 'users.auth_version');

  const tokens: AccountTokens = {
    async issue(userId, purpose, email) {
      const token = randomBytes(32).toString('base64url');
      const t = now();
      const { auth_version } = await db.selectFrom('users').select('auth_version').where('id', '=', userId).executeTakeFirstOrThrow();
      await db
        .deleteFrom('account_tokens')
        .where('expires_at', '<', iso(t - KEEP_AFTER_EXPIRY_MS))
        .execute();
      await db
        .insertInto('account_tokens')
        .values({
          user_id: userId,
          purpose,
          token_hash: sha256Hex(token),
          email,
          auth_version,
          created_at: iso(t),
          expires_at: iso(t + ACCOUNT_TOKEN_LIFETIME_MS[purpose]),
          used_at: null,
        })
        .execute();
      return token;
    },
    async peek(purpose, token) {
      if (!TOKEN_SHAPE.test(token)) return null;
      const row = await live(purpose, sha256Hex(token), iso(now())).executeTakeFirst();
      return row ? { userId: row.user_id, email: row.email } : null;
    },
    async consume(purpose, token) {
      if (!TOKEN_SHAPE.test(token)) return null;
      const at = iso(now());
      const row = await live(purpose, sha256Hex(token), at).executeTakeFirst();
      if (!row) return null;
      // The guarded update is the single use: of two requests racing with one token, one sees a row changed.
      const spent = await db
        .updateTable('account_tokens')
        .set({ used_at: at })
        .where('id', '=', row.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) !== 1) return null;
      await tokens.voidAll(row.user_id, purpose);
      return { userId: row.user_id, email: row.email };
    },
    async pending(userId, purpose) {
      const row = await db
        .selectFrom('account_tokens')
        .innerJoin('users', 'users.id', 'account_tokens.user_id')
        .select(['account_tokens.email', 'account_tokens.expires_at'])
        .where('account_tokens.user_id', '=', userId)
        .where('account_tokens.purpose', '=', purpose)
        .where('account_tokens.used_at', 'is', null)
        .where('account_tokens.expires_at', '>', iso(now()))
        .whereRef('account_tokens.auth_version', '=', 'users.auth_version')
        .orderBy('account_tokens.id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? { email: row.email, expiresAt: row.expires_at } : null;
    },
    async voidAll(userId, purpose) {
      let query = db
        .updateTable('account_tokens')
        .set({ used_at: iso(now()) })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null);
      if (purpose) query = query.where('purpose', '=', purpose);
      const done = await query.executeTakeFirst();
      return Number(done.numUpdatedRows);
    },
  };
  app.decorate('accountTokens', tokens);
}

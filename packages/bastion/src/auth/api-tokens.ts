import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AuthUser } from './current-user.js';
import { prepared, type SlotFn } from '../db/prepared.js';
import type { Runtime } from '../runtime.js';
import { sha256Hex } from '../sessions/derive-keys.js';

// Bearer tokens for /api: 256 random bits, opaque (not JWTs, so they can be revoked), stored
// only as SHA-256 with a 30-day expiry. A password change or "log out everywhere" revokes them.
// The whole app may issue, list and revoke them (the settings page does); only the /api scope
// reads them from a request (packages/bastion/src/auth/api-token-auth.ts).

export const TOKEN_LIFETIME_MS = 30 * 24 * 60 * 60_000;
/** last_used_at is written at most this often, so most API calls stay reads. */
export const LAST_USED_INTERVAL_MS = 60_000;
export const TOKEN_PATTERN = /^[\w-]{43}$/;

export interface ApiTokenInfo {
  readonly id: number;
  readonly label: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string;
}

export interface ApiTokens {
  /**
   * A new opaque random token for the user; only its hash is stored. `authVersion` is the
   * users.auth_version the password check saw; without one (tools, tests) the current one.
   */
  issue(userId: number, label?: string, authVersion?: number): Promise<string>;
  /** The user behind a live token, or null (unknown, expired, revoked, locked user). Never throws on bad input. */
  authenticate(token: string): Promise<AuthUser | null>;
  /** The user's live tokens, newest first (never the tokens themselves). */
  list(userId: number): Promise<ApiTokenInfo[]>;
  /** Revokes one of the user's own tokens; false when the user has no such token. */
  revoke(userId: number, tokenId: number): Promise<boolean>;
  revokeAllForUser(userId: number): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    apiTokens: ApiTokens;
  }
}

export interface ApiTokenOptions {
  readonly now?: () => number;
}

// Every API call with a token runs this: built and compiled once (packages/bastion/src/db/prepared.ts).
const tokenQuery = prepared((db, slot: SlotFn<{ hash: string }>) =>
  db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id as tokenId',
      'api_tokens.last_used_at',
      'api_tokens.expires_at',
      'api_tokens.auth_version as tokenVersion',
      'users.id',
      'users.username',
      'users.email',
      'users.role',
      'users.bio',
      'users.image',
      'users.locked_at',
      'users.auth_version',
    ])
    .where('api_tokens.token_hash', '=', slot('hash')),
);

export async function registerApiTokens(app: FastifyInstance, runtime: Runtime, options: ApiTokenOptions = {}): Promise<void> {
  const db = runtime.db.kysely;
  const now = options.now ?? (() => Date.now());
  const iso = (ms: number): string => new Date(ms).toISOString();

  const tokens: ApiTokens = {
    async issue(userId, label = 'api', authVersion) {
      const token = randomBytes(32).toString('base64url');
      const t = now();
      const version =
        authVersion ??
        (await db.selectFrom('users').select('auth_version').where('id', '=', userId).executeTakeFirstOrThrow()).auth_version;
      await db
        .insertInto('api_tokens')
        .values({
          user_id: userId,
          token_hash: sha256Hex(token),
          label: label.slice(0, 128),
          created_at: iso(t),
          last_used_at: null,
          expires_at: iso(t + TOKEN_LIFETIME_MS),
          auth_version: version,
        })
        .execute();
      return token;
    },
    async authenticate(token) {
      if (!TOKEN_PATTERN.test(token)) return null;
      const t = now();
      const row = await tokenQuery.executeTakeFirst(db, { hash: sha256Hex(token) });
      // A token issued under an older password (see migration 004) is dead like a revoked one.
      if (!row || row.locked_at !== null || row.tokenVersion !== row.auth_version || Date.parse(row.expires_at) <= t) return null;
      if (row.last_used_at === null || t - Date.parse(row.last_used_at) >= LAST_USED_INTERVAL_MS) {
        await db
          .updateTable('api_tokens')
          .set({ last_used_at: iso(t) })
          .where('id', '=', row.tokenId)
          .execute();
      }
      return { id: row.id, username: row.username, email: row.email, role: row.role, bio: row.bio, image: row.image };
    },
    async list(userId) {
      const rows = await db
        .selectFrom('api_tokens')
        .select(['id', 'label', 'created_at', 'last_used_at', 'expires_at'])
        .where('user_id', '=', userId)
        .where('expires_at', '>', iso(now()))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at }));
    },
    async revoke(userId, tokenId) {
      const result = await db.deleteFrom('api_tokens').where('id', '=', tokenId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async revokeAllForUser(userId) {
      await db.deleteFrom('api_tokens').where('user_id', '=', userId).execute();
    },
  };
  app.decorate('apiTokens', tokens);
}

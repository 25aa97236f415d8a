import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { AppDb } from '../db/schema.js';
import { sha256Hex } from '../sessions/derive-keys.js';

// The half-login between the password and the second factor (/login → /login/two-factor). The
// browser holds 256 random bits in a cookie only /login/two-factor gets (httpOnly,
// SameSite=Strict: the step is reached by our own redirect); the server keeps their SHA-256 with
// the account, whether the password was right, the page to go to next and an expiry 5 minutes on.
// A challenge is taken once: the row is deleted by the request that reads it, so a copied
// cookie, a second tab or a racing request finds nothing. The answer to the password is in the
// row, not the cookie: the browser learns it only after giving a right second factor.

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;
const PATH = '/login/two-factor';

export interface Challenge {
  readonly userId: number;
  readonly authVersion: number;
  readonly passwordOk: boolean;
  readonly next: string;
}

export interface LoginChallenges {
  /** Starts a challenge and sets its cookie. */
  start(reply: FastifyReply, challenge: Challenge, now: number): Promise<void>;
  /** Whether the request holds a live challenge (the code form is shown), without using it. */
  live(request: FastifyRequest, now: number): Promise<boolean>;
  /**
   * The live challenge's account and a name for it (its id's hash), without using it: what a
   * passkey ceremony binds its own challenge to. Says nothing of the password.
   */
  peek(request: FastifyRequest, now: number): Promise<{ readonly userId: number; readonly binding: string } | null>;
  /** Takes the request's challenge (gone for everyone after this) and clears the cookie; null if none is live. */
  take(request: FastifyRequest, reply: FastifyReply, now: number): Promise<Challenge | null>;
}

export function loginChallenges(config: Config, db: AppDb): LoginChallenges {
  const name = config.cookieSecure ? '__Secure-two-factor' : 'two-factor';
  const options = { path: PATH, httpOnly: true, secure: config.cookieSecure, sameSite: 'strict' } as const;
  const idHashOf = (request: FastifyRequest): string | null => {
    const raw = request.cookies[name];
    return raw !== undefined && /^[\w-]{43}$/.test(raw) ? sha256Hex(raw) : null;
  };

  const peek: LoginChallenges['peek'] = async (request, now) => {
    const idHash = idHashOf(request);
    if (idHash === null) return null;
    const row = await db
      .selectFrom('login_challenges')
      .select('user_id')
      .where('id_hash', '=', idHash)
      .where('expires_at', '>', new Date(now).toISOString())
      .executeTakeFirst();
    return row === undefined ? null : { userId: row.user_id, binding: `login-challenge:${idHash}` };
  };

  return {
    async start(reply, challenge, now) {
      const id = randomBytes(32).toString('base64url');
      // Expired challenges are swept by each new one (indexed on expires_at).
      await db.deleteFrom('login_challenges').where('expires_at', '<=', new Date(now).toISOString()).execute();
      await db
        .insertInto('login_challenges')
        .values({
          id_hash: sha256Hex(id),
          user_id: challenge.userId,
          auth_version: challenge.authVersion,
          password_ok: challenge.passwordOk ? 1 : 0,
          next: challenge.next,
          expires_at: new Date(now + CHALLENGE_LIFETIME_MS).toISOString(),
        })
        .execute();
      reply.setCookie(name, id, { ...options, maxAge: CHALLENGE_LIFETIME_MS / 1000 });
    },
    async live(request, now) {
      return (await peek(request, now)) !== null;
    },
    peek,
    async take(request, reply, now) {
      reply.clearCookie(name, options);
      const idHash = idHashOf(request);
      if (idHash === null) return null;
      const row = await db
        .deleteFrom('login_challenges')
        .where('id_hash', '=', idHash)
        .returning(['user_id', 'auth_version', 'password_ok', 'next', 'expires_at'])
        .executeTakeFirst();
      if (!row || row.expires_at <= new Date(now).toISOString()) return null;
      return { userId: row.user_id, authVersion: row.auth_version, passwordOk: row.password_ok === 1, next: row.next };
    },
  };
}

import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { sha256Hex } from '../../sessions/derive-keys.js';

// The challenges a WebAuthn ceremony signs (W3C WebAuthn §13.4.3: random, at least 16 bytes,
// kept on the server, used once). Each is bound to what asked for it: a session's id hash when a
// member adds a passkey or proves a second factor, or the random value of an HttpOnly cookie for
// an anonymous password-less sign-in. A binding holds one live challenge per purpose: asking
// again replaces it. Taking it deletes the row in the same statement that reads it, so two
// answers racing for one challenge get it once between them; an expired one is never handed out.

export type ChallengePurpose = 'register' | 'sign-in' | 'two-factor';

/** WebAuthn ceremonies take seconds; five minutes covers a slow hand without leaving much open. */
export const CHALLENGE_LIFETIME_MS = 5 * 60_000;

export interface PendingChallenge {
  readonly challenge: string;
  /** The account the ceremony was started for; null for a password-less sign-in. */
  readonly userId: number | null;
}

export interface ChallengeStore {
  /** Keeps `challenge` for the binding and purpose, replacing any live one. */
  put(purpose: ChallengePurpose, binding: string, challenge: string, userId: number | null): Promise<void>;
  /** The live challenge of the binding and purpose, deleted as it is read; null when none or expired. */
  take(purpose: ChallengePurpose, binding: string): Promise<PendingChallenge | null>;
}

const keyOf = (purpose: ChallengePurpose, binding: string): string => sha256Hex(`passkey-challenge:${purpose}:${binding}`);

export function challengeStore(db: Kysely<Database>, now: () => number): ChallengeStore {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    async put(purpose, binding, challenge, userId) {
      const t = now();
      const key_hash = keyOf(purpose, binding);
      // Expired rows of any binding go too: nobody else ever deletes an abandoned ceremony's.
      await db.deleteFrom('passkey_challenges').where('expires_at', '<=', iso(t)).execute();
      const row = { purpose, user_id: userId, challenge, expires_at: iso(t + CHALLENGE_LIFETIME_MS) };
      await db
        .insertInto('passkey_challenges')
        .values({ key_hash, ...row })
        .onConflict((oc) => oc.column('key_hash').doUpdateSet(row))
        .execute();
    },
    async take(purpose, binding) {
      const row = await db
        .deleteFrom('passkey_challenges')
        .where('key_hash', '=', keyOf(purpose, binding))
        .where('purpose', '=', purpose)
        .returning(['challenge', 'user_id', 'expires_at'])
        .executeTakeFirst();
      if (!row || row.expires_at <= iso(now())) return null;
      return { challenge: row.challenge, userId: row.user_id };
    },
  };
}

import { randomInt, timingSafeEqual } from 'node:crypto';
import type { AppDb } from '../db/schema.js';
import { sha256Hex } from '../sessions/derive-keys.js';

// Recovery codes: what lets an owner in when the phone is lost. Ten per set, 12 characters of
// RFC 4648 base32 each (60 bits: far past guessing under the login limits), shown once as
// xxxx-xxxx-xxxx and stored only as SHA-256 — a fast hash is enough for values this random.
// A code is spent by an UPDATE that also requires it unspent, so two requests racing with one
// code cannot both get in. A new set replaces the old one in one transaction.

export const RECOVERY_CODE_COUNT = 10;
const CODE_CHARS = 12;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** What a user typed, as stored: lower case, without spaces or dashes. */
export const normalizeRecoveryCode = (typed: string): string => typed.toLowerCase().replace(/[\s-]/g, '');
/** Whether a typed value has the shape of a recovery code (before any database work). */
const SHAPE = /^[a-z2-7]{12}$/;
export const looksLikeRecoveryCode = (typed: string): boolean => SHAPE.test(normalizeRecoveryCode(typed));

function newCode(): string {
  let code = '';
  for (let i = 0; i < CODE_CHARS; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

export interface RecoveryCodes {
  /** A new set of codes, replacing every earlier one; the codes are returned once and never again. */
  replace(userId: number, now: number): Promise<string[]>;
  /** Spends a code: the number left after it, or null (wrong, spent, or spent by a racing request). */
  use(userId: number, typed: string, now: number): Promise<number | null>;
  remaining(userId: number): Promise<number>;
  /** Voids every code of the user. */
  removeAll(userId: number): Promise<void>;
}

export function recoveryCodes(db: AppDb): RecoveryCodes {
  const remaining = async (userId: number): Promise<number> => {
    const row = await db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  return {
    async replace(userId, now) {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
      const at = new Date(now).toISOString();
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        await trx
          .insertInto('recovery_codes')
          .values(
            codes.map((code) => ({ user_id: userId, code_hash: sha256Hex(normalizeRecoveryCode(code)), created_at: at, used_at: null })),
          )
          .execute();
      });
      return codes;
    },
    async use(userId, typed, now) {
      if (!looksLikeRecoveryCode(typed)) return null;
      const wanted = Buffer.from(sha256Hex(normalizeRecoveryCode(typed)), 'hex');
      const unspent = await db
        .selectFrom('recovery_codes')
        .select(['id', 'code_hash'])
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .execute();
      // Every unspent code compared in constant time; the match is then spent only if still unspent.
      let match: number | null = null;
      for (const row of unspent) if (timingSafeEqual(Buffer.from(row.code_hash, 'hex'), wanted)) match = row.id;
      if (match === null) return null;
      const spent = await db
        .updateTable('recovery_codes')
        .set({ used_at: new Date(now).toISOString() })
        .where('id', '=', match)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return spent.numUpdatedRows === 1n ? remaining(userId) : null;
    },
    remaining,
    async removeAll(userId) {
      await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    },
  };
}

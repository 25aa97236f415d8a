import type { AppDb } from '../db/schema.js';
import type { SealedBox } from '../security/sealed-box.js';
import { matchStep, newTotpSecret } from './totp.js';

// A user's authenticator app in the database. The secret is stored sealed (AES-256-GCM, bound to
// the user's id as authenticated data, so a sealed secret copied into another user's row opens
// for nobody); only this module opens it, to check a code or to show it during enrolment.
// A code is taken at most once: the step it belongs to is written only if it is later than the
// last accepted one, in the same UPDATE that checks it, so two requests racing with one code (or
// a code replayed within its minute) cannot both pass.

const context = (userId: number): string => `totp:${userId}`;

export interface TotpCredentials {
  /** Whether the user has a confirmed authenticator app. */
  enabled(userId: number): Promise<boolean>;
  /** Starts (or restarts) an enrolment with a fresh secret; refused (null) when one is already enabled. */
  begin(userId: number, now: number): Promise<string | null>;
  /** The secret of the enrolment waiting for its first code, or null. */
  pending(userId: number): Promise<string | null>;
  /** Enables the pending enrolment if `code` is right now; false otherwise. */
  confirm(userId: number, code: string, now: number): Promise<boolean>;
  /** Accepts `code` for an enabled app at most once; false when wrong, replayed or older than the last one taken. */
  verify(userId: number, code: string, now: number): Promise<boolean>;
  /** Removes the app (enabled or pending); true when there was one. */
  remove(userId: number): Promise<boolean>;
}

export function totpCredentials(db: AppDb, box: SealedBox): TotpCredentials {
  const secretOf = async (userId: number, enabled: boolean): Promise<{ secret: string; lastStep: number | null } | null> => {
    const row = await db
      .selectFrom('totp_credentials')
      .select(['secret', 'last_step'])
      .where('user_id', '=', userId)
      .where('enabled_at', enabled ? 'is not' : 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const secret = box.open(row.secret, context(userId));
    return secret === null ? null : { secret, lastStep: row.last_step };
  };

  /** Writes the step if it is later than the last one taken (and the row is in the expected state): the one atomic check. */
  const take = async (userId: number, step: number, enabling: boolean, now: number): Promise<boolean> => {
    const result = await db
      .updateTable('totp_credentials')
      .set({ last_step: step, ...(enabling ? { enabled_at: new Date(now).toISOString() } : {}) })
      .where('user_id', '=', userId)
      .where('enabled_at', enabling ? 'is' : 'is not', null)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  };

  return {
    async enabled(userId) {
      const row = await db
        .selectFrom('totp_credentials')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('enabled_at', 'is not', null)
        .executeTakeFirst();
      return row !== undefined;
    },
    async begin(userId, now) {
      const secret = newTotpSecret();
      const sealed = box.seal(secret, context(userId));
      const at = new Date(now).toISOString();
      // A pending enrolment is replaced; an enabled one is left alone (turn it off first).
      const replaced = await db
        .updateTable('totp_credentials')
        .set({ secret: sealed, last_step: null, created_at: at })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is', null)
        .executeTakeFirst();
      if (replaced.numUpdatedRows === 1n) return secret;
      const inserted = await db
        .insertInto('totp_credentials')
        .values({ user_id: userId, secret: sealed, last_step: null, created_at: at, enabled_at: null })
        .onConflict((oc) => oc.column('user_id').doNothing())
        .returning('user_id')
        .executeTakeFirst();
      return inserted !== undefined ? secret : null;
    },
    async pending(userId) {
      return (await secretOf(userId, false))?.secret ?? null;
    },
    async confirm(userId, code, now) {
      const found = await secretOf(userId, false);
      const step = found ? matchStep(found.secret, code, now) : null;
      return step !== null && (await take(userId, step, true, now));
    },
    async verify(userId, code, now) {
      const found = await secretOf(userId, true);
      const step = found ? matchStep(found.secret, code, now) : null;
      if (step === null || (found!.lastStep !== null && step <= found!.lastStep)) return false;
      return take(userId, step, false, now);
    },
    async remove(userId) {
      const result = await db.deleteFrom('totp_credentials').where('user_id', '=', userId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

// The passkeys table (migration 014). Every query that reads or changes one passkey names its
// owner too, so no id a form sends can reach another account's credential.

/** What a member is shown of one of their passkeys. */
export interface PasskeySummary {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** What a ceremony needs of a stored credential. */
export interface StoredCredential {
  readonly id: number;
  readonly userId: number;
  readonly credentialId: string;
  readonly publicKey: string;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly name: string;
}

export interface NewCredential {
  readonly credentialId: string;
  readonly publicKey: string;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly name: string;
}

/** The transports column holds a JSON list; anything else reads as none. */
function parseTransports(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

const credentialColumns = ['id', 'user_id', 'credential_id', 'public_key', 'sign_count', 'transports', 'name'] as const;
type CredentialRow = {
  id: number;
  user_id: number;
  credential_id: string;
  public_key: string;
  sign_count: number | string;
  transports: string;
  name: string;
};
const toCredential = (r: CredentialRow): StoredCredential => ({
  id: r.id,
  userId: r.user_id,
  credentialId: r.credential_id,
  publicKey: r.public_key,
  signCount: Number(r.sign_count),
  transports: parseTransports(r.transports),
  name: r.name,
});

export function passkeyStore(db: Kysely<Database>) {
  return {
    async list(userId: number): Promise<PasskeySummary[]> {
      const rows = await db
        .selectFrom('passkeys')
        .select(['id', 'name', 'created_at', 'last_used_at'])
        .where('user_id', '=', userId)
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
    },
    async credentialsOf(userId: number): Promise<StoredCredential[]> {
      return (await db.selectFrom('passkeys').select(credentialColumns).where('user_id', '=', userId).orderBy('id').execute()).map(
        toCredential,
      );
    },
    async byCredentialId(credentialId: string): Promise<StoredCredential | null> {
      const row = await db.selectFrom('passkeys').select(credentialColumns).where('credential_id', '=', credentialId).executeTakeFirst();
      return row ? toCredential(row) : null;
    },
    /** Throws a unique violation when the credential id is stored already (for anyone): the index decides. */
    async add(userId: number, credential: NewCredential, at: string): Promise<number> {
      const row = await db
        .insertInto('passkeys')
        .values({
          user_id: userId,
          credential_id: credential.credentialId,
          public_key: credential.publicKey,
          sign_count: credential.signCount,
          transports: JSON.stringify(credential.transports),
          name: credential.name,
          created_at: at,
          last_used_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async rename(userId: number, id: number, name: string): Promise<boolean> {
      const result = await db.updateTable('passkeys').set({ name }).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    /** The removed passkey's name, or null when the user has no such passkey. */
    /** Removes every passkey of the user (an admin's second-factor reset); how many there were. */
    async removeAll(userId: number): Promise<number> {
      const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async remove(userId: number, id: number): Promise<string | null> {
      const row = await db.deleteFrom('passkeys').where('id', '=', id).where('user_id', '=', userId).returning('name').executeTakeFirst();
      return row?.name ?? null;
    },
    /**
     * Records a use and the authenticator's new counter. The update only goes through while the
     * stored counter is still the one the check read, so of two answers racing with one signature
     * count, one wins: false for the other.
     */
    async recordUse(credential: StoredCredential, signCount: number, at: string): Promise<boolean> {
      const result = await db
        .updateTable('passkeys')
        .set({ sign_count: signCount, last_used_at: at })
        .where('id', '=', credential.id)
        .where('sign_count', '=', credential.signCount)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

export type PasskeyStore = ReturnType<typeof passkeyStore>;

import { randomBytes } from 'node:crypto';
import { hashPassword } from './password-hasher.js';
import type { AppDb, NewUser } from '../db/schema.js';

// Member accounts in bulk for demo data (Conduit's `seed`): confirmed, and nobody can sign in
// to one. Their password is 256 random bits, hashed once for the whole batch and never kept or
// printed, so the hash is a real argon2id hash and a login attempt costs what any other does;
// an admin's reset is the only way in. The caller chooses the names: the account rules are
// not checked here, and a name or address already taken fails the insert.

export interface DemoMember {
  readonly username: string;
  readonly email: string;
  readonly bio: string;
  /** ISO time: the account's creation, and the moment its address counts as confirmed. */
  readonly createdAt: string;
}

// 10 columns a row: 4000 bound parameters a statement, well under SQLite's and PostgreSQL's limits.
const ROWS_PER_STATEMENT = 400;

/** Inserts the members in one transaction, several hundred a statement; returns their ids in order. `onProgress`: how many are in so far. */
export async function insertDemoMembers(
  db: AppDb,
  members: readonly DemoMember[],
  options: { readonly onProgress?: (done: number) => void } = {},
): Promise<number[]> {
  const passwordHash = await hashPassword(randomBytes(32).toString('base64url'));
  const rows: NewUser[] = members.map((m) => ({
    username: m.username,
    email: m.email,
    password_hash: passwordHash,
    bio: m.bio,
    image: null,
    role: 'member',
    locked_at: null,
    created_at: m.createdAt,
    updated_at: m.createdAt,
    email_confirmed_at: m.createdAt,
  }));
  const ids: number[] = [];
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const inserted = await trx
        .insertInto('users')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .returning('id')
        .execute();
      ids.push(...inserted.map((r) => r.id));
      options.onProgress?.(ids.length);
    }
  });
  return ids;
}

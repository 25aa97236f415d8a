import { SqliteAdapter, type Kysely } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database, Role } from '../../db/schema.js';
import { scanPageAndTotal } from '../../security/scan-admission.js';
import { containsText } from './text-match.js';

// The users as the admin sees them, and the two changes an admin makes to an account: its role
// and its lock. Enforcement of a lock lives where the account is used — login (both faces),
// session loading and API-token lookup all refuse a user with locked_at set — so setting the
// column is the lock; the caller also ends the user's sessions and tokens.

export interface UserFilter {
  /** Part of a username or email, any case. */
  readonly q?: string;
  readonly role?: Role;
}

export interface AdminUserRow {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly lockedAt: string | null;
  readonly createdAt: string;
  /** Whether the account has a second factor (an enabled authenticator app). */
  readonly twoFactor: boolean;
}

export interface UserTarget {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly lockedAt: string | null;
}

/**
 * A page of users matching the filter, newest first, with the total: a text filter reads every
 * account, so as an admitted scan, in the admin's own lane (packages/bastion/src/security/scan-admission.ts).
 * `signal`: the client's (clientGone), to call the scan off.
 */
export async function listUsers(
  db: Db,
  filter: UserFilter,
  page: { limit: number; offset: number },
  signal?: AbortSignal,
): Promise<{ items: AdminUserRow[]; total: number }> {
  const term = filter.q?.trim() ?? '';
  const scoped = () => {
    let q = db.kysely.selectFrom('users');
    if (term !== '') q = q.where((eb) => eb.or([containsText('users.username', term), containsText('users.email', term)]));
    if (filter.role !== undefined) q = q.where('users.role', '=', filter.role);
    return q;
  };
  const { rows, total } = await scanPageAndTotal(
    db,
    signal === undefined ? { lane: 'admin' } : { lane: 'admin', signal },
    scoped()
      .select(['users.id', 'users.username', 'users.email', 'users.role', 'users.locked_at', 'users.created_at'])
      .select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('totp_credentials')
              .select('totp_credentials.user_id')
              .whereRef('totp_credentials.user_id', '=', 'users.id')
              .where('totp_credentials.enabled_at', 'is not', null),
          )
          .as('two_factor'),
      )
      .orderBy('users.id', 'desc')
      .limit(page.limit)
      .offset(page.offset),
    scoped().select((eb) => eb.fn.countAll<number>().as('n')),
  );
  return {
    items: rows.map((r) => ({
      id: r.id,
      username: r.username,
      email: r.email,
      role: r.role,
      lockedAt: r.locked_at,
      createdAt: r.created_at,
      twoFactor: Boolean(r.two_factor),
    })),
    total,
  };
}

/** The account an admin action names, or undefined. */
export async function findTarget(db: Kysely<Database>, id: number): Promise<UserTarget | undefined> {
  const row = await db.selectFrom('users').select(['id', 'username', 'role', 'locked_at']).where('id', '=', id).executeTakeFirst();
  return row && { id: row.id, username: row.username, role: row.role, lockedAt: row.locked_at };
}

/**
 * Runs `change` to account `targetId` only if `actorId` is still an unlocked admin when it is
 * written; undefined (and nothing written) when not. The request was authorized with the role
 * its session loaded, before the handler ran: two admins demoting or locking each other at the
 * same moment would both pass that check and leave no admin. So both accounts' rows are locked
 * first and the actor's role is read again. On PostgreSQL the rows are locked in id order, so two
 * such changes wait for each other instead of deadlocking; SQLite runs one write transaction at
 * a time (one connection), which already orders them.
 */
export async function whileStillAdmin<T>(
  db: Kysely<Database>,
  ids: { actorId: number; targetId: number },
  change: (trx: Kysely<Database>) => Promise<T>,
): Promise<{ value: T } | undefined> {
  return db.transaction().execute(async (trx) => {
    const rows = trx.selectFrom('users').select(['id', 'role', 'locked_at']).where('id', 'in', [ids.actorId, ids.targetId]).orderBy('id');
    const accounts = await (db.getExecutor().adapter instanceof SqliteAdapter ? rows : rows.forUpdate()).execute();
    const actor = accounts.find((a) => a.id === ids.actorId);
    if (!actor || actor.role !== 'admin' || actor.locked_at !== null) return undefined;
    return { value: await change(trx) };
  });
}

/** Sets the role; false when it already was that role. */
export async function setRole(db: Kysely<Database>, id: number, role: Role): Promise<boolean> {
  const changed = await db
    .updateTable('users')
    .set({ role, updated_at: new Date().toISOString() })
    .where('id', '=', id)
    .where('role', '!=', role)
    .returning('id')
    .executeTakeFirst();
  return changed !== undefined;
}

/** Locks (or unlocks) the account; false when it already was. */
export async function setLocked(db: Kysely<Database>, id: number, locked: boolean): Promise<boolean> {
  const now = new Date().toISOString();
  const changed = await db
    .updateTable('users')
    .set({ locked_at: locked ? now : null, updated_at: now })
    .where('id', '=', id)
    .where('locked_at', locked ? 'is' : 'is not', null)
    .returning('id')
    .executeTakeFirst();
  return changed !== undefined;
}

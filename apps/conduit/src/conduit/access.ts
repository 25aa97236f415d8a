import { SqliteAdapter } from 'kysely';
import { can } from './roles.js';
import type { Role } from 'bastion';
import type { ConduitDb } from './types.js';

// Who may change which content, as decided by Conduit's role table (roles.ts): authors
// edit and delete their own; moderators and admins may delete (never edit) anyone's article
// or comment. The services call these so neither face (API or HTML) can forget the check.

export interface Actor {
  readonly id: number;
  readonly role: Role;
}

export const mayEditArticle = (actor: Actor, authorId: number): boolean => can(actor, 'article:update', { authorId });
export const mayDeleteArticle = (actor: Actor, authorId: number): boolean => can(actor, 'article:delete', { authorId });
export const mayDeleteComment = (actor: Actor, authorId: number): boolean => can(actor, 'comment:delete', { authorId });

/**
 * The actor as the database has them now, read inside the transaction that acts on it; null when
 * the account is locked or gone. A request is authorized with the role its session loaded,
 * before the handler writes: a moderator demoted or locked while their deletion is in flight
 * must not still delete. On PostgreSQL the row is locked FOR SHARE, so a role change in flight
 * (which locks it FOR UPDATE, packages/bastion/src/pages/admin/user-directory.ts) is waited for and then seen;
 * SQLite runs one write transaction at a time.
 */
export async function actorNow(trx: ConduitDb, id: number): Promise<Actor | null> {
  const read = trx.selectFrom('users').select(['id', 'role', 'locked_at']).where('id', '=', id);
  const row = await (trx.getExecutor().adapter instanceof SqliteAdapter ? read : read.forShare()).executeTakeFirst();
  return row === undefined || row.locked_at !== null ? null : { id: row.id, role: row.role };
}

import type { Generated } from 'kysely';
import { AppError, type AuthUser, type Db } from 'bastion';

// Reading and writing messages. Every query goes through Kysely with parameters; who may do
// what is decided here, next to the data, so the pages cannot forget it.

interface GuestbookMessagesTable {
  id: Generated<number>;
  author_id: number;
  body: string;
  created_at: string;
  hidden_at: string | null;
}

export interface Message {
  readonly id: number;
  readonly body: string;
  readonly author: string;
  readonly authorId: number;
  readonly createdAt: string;
  readonly hidden: boolean;
}

/** The newest messages first, at most this many on the page. */
export const PAGE_SIZE = 50;

// Bastion's tables (users) plus ours, typed: Kysely's $extendTables widens the schema it knows.
const tables = (db: Db) => db.kysely.$extendTables<{ guestbook_messages: GuestbookMessagesTable }>();

const isModerator = (user: AuthUser | null): boolean => user !== null && (user.role === 'moderator' || user.role === 'admin');

/** Visible messages; a moderator also sees the hidden ones, marked. */
export async function listMessages(db: Db, viewer: AuthUser | null): Promise<Message[]> {
  let query = tables(db)
    .selectFrom('guestbook_messages as m')
    .innerJoin('users as u', 'u.id', 'm.author_id')
    .select(['m.id', 'm.body', 'm.created_at', 'm.hidden_at', 'm.author_id', 'u.username'])
    .orderBy('m.id', 'desc')
    .limit(PAGE_SIZE);
  if (!isModerator(viewer)) query = query.where('m.hidden_at', 'is', null);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    body: r.body,
    author: r.username,
    authorId: r.author_id,
    createdAt: r.created_at,
    hidden: r.hidden_at !== null,
  }));
}

export async function postMessage(db: Db, author: AuthUser, body: string, now: Date): Promise<void> {
  await tables(db).insertInto('guestbook_messages').values({ author_id: author.id, body, created_at: now.toISOString() }).execute();
}

/** Only the author deletes a message; anyone else gets 403, and an unknown id 404. */
export async function deleteMessage(db: Db, member: AuthUser, id: number): Promise<void> {
  const row = await tables(db).selectFrom('guestbook_messages').select('author_id').where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new AppError('NOT_FOUND');
  if (row.author_id !== member.id) throw new AppError('FORBIDDEN');
  await tables(db).deleteFrom('guestbook_messages').where('id', '=', id).where('author_id', '=', member.id).execute();
}

/** A moderator hides (or shows again) any message. The route's access declaration checks the role. */
export async function setHidden(db: Db, id: number, hidden: boolean, now: Date): Promise<void> {
  const result = await tables(db)
    .updateTable('guestbook_messages')
    .set({ hidden_at: hidden ? now.toISOString() : null })
    .where('id', '=', id)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new AppError('NOT_FOUND');
}

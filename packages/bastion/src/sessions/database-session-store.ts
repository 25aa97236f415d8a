import type { Kysely, Selectable } from 'kysely';
import { prepared, type SlotFn } from '../db/prepared.js';
import type { Database, SessionsTable } from '../db/schema.js';
import type { SessionRecord, SessionStore } from './session-store.js';

// Sessions in the `sessions` table. Times are stored as ISO strings like every other table.

const iso = (ms: number): string => new Date(ms).toISOString();

function toRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    createdAt: Date.parse(row.created_at),
    lastSeenAt: Date.parse(row.last_seen_at),
    idleExpiresAt: Date.parse(row.idle_expires_at),
    absoluteExpiresAt: Date.parse(row.absolute_expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
    authVersion: row.auth_version,
    authenticatedAt: row.authenticated_at === null ? 0 : Date.parse(row.authenticated_at),
  };
}

// Every request with a session cookie runs this: built and compiled once (packages/bastion/src/db/prepared.ts).
const sessionQuery = prepared((db, slot: SlotFn<{ idHash: string }>) =>
  db.selectFrom('sessions').selectAll().where('id_hash', '=', slot('idHash')),
);

export class DatabaseSessionStore implements SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number,
  ) {}

  async create(r: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: r.idHash,
        user_id: r.userId,
        created_at: iso(r.createdAt),
        last_seen_at: iso(r.lastSeenAt),
        idle_expires_at: iso(r.idleExpiresAt),
        absolute_expires_at: iso(r.absoluteExpiresAt),
        ip: r.ip,
        user_agent: r.userAgent,
        auth_version: r.authVersion,
        authenticated_at: iso(r.authenticatedAt),
      })
      .execute();
    // Expired rows would otherwise pile up; a user's own are swept whenever they log in.
    const now = iso(this.now());
    await this.db
      .deleteFrom('sessions')
      .where('user_id', '=', r.userId)
      .where((eb) => eb.or([eb('idle_expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
      .execute();
  }

  async get(idHash: string): Promise<SessionRecord | null> {
    const row = await sessionQuery.executeTakeFirst(this.db, { idHash });
    return row ? toRecord(row) : null;
  }

  async touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ last_seen_at: iso(lastSeenAt), idle_expires_at: iso(idleExpiresAt) })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async reauthenticated(idHash: string, authenticatedAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ authenticated_at: iso(authenticatedAt) })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteAllForUser(userId: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async listForUser(userId: number): Promise<SessionRecord[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
    const now = this.now();
    return rows.map(toRecord).filter((r) => r.idleExpiresAt > now && r.absoluteExpiresAt > now);
  }
}

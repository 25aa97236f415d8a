// Where server-side sessions live: the database table `sessions` by default, Redis when
// REDIS_URL is set. Both sit behind this small interface so the session layer never knows which.
// Only the SHA-256 of a session id is ever handed to a store.

export interface SessionRecord {
  readonly idHash: string;
  readonly userId: number;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** Idle expiry (epoch ms), pushed forward as the session slides. */
  readonly idleExpiresAt: number;
  /** Absolute expiry (epoch ms), fixed at creation. */
  readonly absoluteExpiresAt: number;
  readonly ip: string;
  readonly userAgent: string;
  /** users.auth_version when the login's password check passed (see migration 004). */
  readonly authVersion: number;
  /**
   * When the owner last proved who they are (epoch ms): the login that made the session, or a
   * later re-authentication (packages/bastion/src/auth/reauth.ts). 0 for never.
   */
  readonly authenticatedAt: number;
}

export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  /** The record, or null when there is none (expiry is judged by the caller, by its clock). */
  get(idHash: string): Promise<SessionRecord | null>;
  /** Records activity: the new last-seen time and idle expiry. */
  touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  /** Records a fresh proof of identity (re-authentication); never brings back a deleted session. */
  reauthenticated(idHash: string, authenticatedAt: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteAllForUser(userId: number): Promise<void>;
  /** The user's sessions, newest first. */
  listForUser(userId: number): Promise<SessionRecord[]>;
}
